"""The global options (``-c/--config``, ``-v``) before and after every command, ``channels`` and ``init`` with a
config, and ``tocsin check`` rendering every template a target can select. Real subprocesses throughout."""

from __future__ import annotations

import pytest

from .conftest import run_cli, write


def hook_config(tmp_path, url: str) -> str:
    path = write(
        tmp_path / "cfg" / "mine.toml",
        f"""
        [[targets]]
        name = "hook"
        channel = "testchan"
        url = "{url}/TOKEN"
        label = "from-mine-toml"
        """,
    )
    return str(path)


COMMANDS = [
    ("send", ["send", "job_failed"]),
    ("test", ["test", "hook"]),
    ("render", ["render", "hook", "job_failed"]),
    ("check", ["check"]),
    ("route", ["route", "job_failed"]),
]


@pytest.mark.parametrize("place", ["before", "after"])
@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_config_and_verbose_work_before_and_after_the_command(
    name, command, place, tmp_path, plugin_site, tocsin_http_sink
):
    """``tocsin -c F -v CMD …`` and ``tocsin CMD … -c F -v`` do the same: the named config is used, INFO is logged."""
    config = hook_config(tmp_path, tocsin_http_sink.url)
    options = ["-c", config, "-v"]
    args = [*options, *command] if place == "before" else [*command, *options]
    result = run_cli(*args, cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if name in ("send", "test"):
        assert len(tocsin_http_sink.requests) == 1
        assert tocsin_http_sink.last.json()["label"] == "from-mine-toml"
        assert "INFO httpx: HTTP Request: POST" in result.stderr  # -v took effect
        assert "TOKEN" not in result.stderr
    elif name == "render":
        assert '"label": "from-mine-toml"' in result.stdout
    elif name == "route":
        assert "hook" in result.stdout
    else:
        assert result.stdout.startswith(f"{config}: ok (1 target, ")


def test_verbose_counts_on_both_sides(tmp_path, plugin_site, tocsin_http_sink):
    """``-v`` before and ``-v`` after add up to ``-vv`` (debug)."""
    config = hook_config(tmp_path, tocsin_http_sink.url)
    result = run_cli("-v", "send", "job_failed", "-c", config, "-v", cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0, result.stderr
    assert "DEBUG " in result.stderr
    quiet = run_cli("send", "job_failed", "-c", config, cwd=tmp_path, site=plugin_site)
    assert "INFO" not in quiet.stderr and "DEBUG" not in quiet.stderr


def test_a_config_given_after_the_command_wins_over_the_environment(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url)
    env = {"TOCSIN_CONFIG": str(tmp_path / "elsewhere.toml")}
    for args in (["-c", config, "check"], ["check", "-c", config]):
        result = run_cli(*args, cwd=tmp_path, site=plugin_site, env=env)
        assert result.returncode == 0, result.stderr
    missing = run_cli("check", cwd=tmp_path, site=plugin_site, env=env)
    assert (missing.returncode, missing.stderr.splitlines()[0]) == (2, f"{env['TOCSIN_CONFIG']}: config file not found")


@pytest.mark.parametrize("place", ["before", "after"])
def test_channels_lists_the_channels_of_the_configs_local_plugins(place, tmp_path):
    write(
        tmp_path / "cfg" / "shout.py",
        """
        import attrs
        from tocsin import Channel, hookimpl

        @attrs.frozen
        class Options:
            volume: int = attrs.field(default=11, metadata={"doc": "How loud."})

        @hookimpl
        def tocsin_channels():
            return [Channel("shout", Options, description="A deployment's own channel.")]
        """,
    )
    config = write(
        tmp_path / "cfg" / "tocsin.toml",
        '[notifications]\nplugins = ["shout.py"]\n[[targets]]\nname = "s"\nchannel = "shout"\n',
    )
    args = ["-c", str(config), "channels"] if place == "before" else ["channels", "--config", str(config)]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "shout  (local " in result.stdout and "volume: int (default 11)  How loud." in result.stdout
    without = run_cli("channels", cwd=tmp_path)
    assert "shout" not in without.stdout


@pytest.mark.parametrize("place", ["argument", "before", "after"])
def test_init_writes_where_it_is_told(place, tmp_path):
    args = {
        "argument": ["init", "conf/my.toml"],
        "before": ["-c", "conf/my.toml", "init"],
        "after": ["init", "--config", "conf/my.toml"],
    }[place]
    (tmp_path / "conf").mkdir()
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote conf/my.toml; ")
    assert "[[targets]]" in (tmp_path / "conf" / "my.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "nodir/x.toml"], "error: cannot write nodir/x.toml: folder nodir does not exist (create it first)"),
        (["init", "a.toml", "-c", "b.toml"], "error: two places to write: a.toml and --config b.toml; give one"),
        (["init", "."], "error: . is a folder; give a file name, e.g. tocsin.toml"),
    ],
    ids=["missing-folder", "two-paths", "a-folder"],
)
def test_init_refuses_cleanly(args, message, tmp_path):
    result = run_cli(*args, cwd=tmp_path)
    assert (result.returncode, result.stderr.strip(), result.stdout) == (2, message, "")
    assert list(tmp_path.iterdir()) == []


def test_check_renders_event_specific_and_custom_type_templates(tmp_path, plugin_site):
    """A broken template for one event type (packaged-style name or a custom type) is found by ``check``."""
    folder = tmp_path / "tpl" / "testchan"
    write(folder / "job_completed.json.j2", '{"title": {{ title }}, "oops": {{ data.missing.deeper | int }')
    write(folder / "model_trained.json.j2", "{{ 1 / 0 }}")
    config = write(
        tmp_path / "tocsin.toml",
        '[notifications]\ntemplate_dirs = ["tpl"]\n'
        '[[targets]]\nname = "all"\nchannel = "testchan"\nurl = "http://127.0.0.1:9/x"\n'
        '[[targets]]\nname = "failures"\nchannel = "testchan"\nurl = "http://127.0.0.1:9/x"\nevents = ["*_failed"]\n',
    )
    result = run_cli("check", "-c", str(config), cwd=tmp_path, site=plugin_site)
    lines = result.stderr.splitlines()
    assert result.returncode == 2
    assert lines[0].startswith(
        f"{config}: target 'all', event job_completed: template 'testchan/job_completed.json.j2'"
    )
    assert lines[1].startswith(f"{config}: target 'all', event model_trained: template 'model_trained.json.j2' (")
    assert lines[1].endswith("line 1: ZeroDivisionError: division by zero (target 'all')")
    assert lines[2:] == ["2 problems found"]  # 'failures' selects neither template


def test_check_renders_a_type_only_a_glob_names(tmp_path, plugin_site):
    """``events = ["deploy_*"]`` matches no standard type: check still renders one (``deploy_check``)."""
    write(tmp_path / "tpl" / "testchan" / "default.json.j2", "{{ data.nope.deeper.deepest() }}")
    config = write(
        tmp_path / "tocsin.toml",
        '[notifications]\ntemplate_dirs = ["tpl"]\n'
        '[[targets]]\nname = "t"\nchannel = "testchan"\nurl = "http://127.0.0.1:9/x"\nevents = ["deploy_*"]\n',
    )
    result = run_cli("check", "-c", str(config), cwd=tmp_path, site=plugin_site)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{config}: target 't', event deploy_check: template ")
