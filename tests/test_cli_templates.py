"""``tocsin templates list|show|copy``, run as a template author would: subprocesses, real files."""

from __future__ import annotations

import json

from .conftest import TESTCHAN_TEMPLATE, run_cli, write

TESTCHAN = ["testchan:testchan/default.json.j2", "testchan:testchan/queue_finished.json.j2"]


def test_list_shows_the_names_the_loader_uses(tmp_path, plugin_site):
    everything = run_cli("templates", "list", cwd=tmp_path, site=plugin_site)
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert set(TESTCHAN) | {"tocsin:console/default.json.j2", "tocsin:console/default.txt.j2"} <= set(lines)
    one = run_cli("templates", "list", "testchan", cwd=tmp_path, site=plugin_site)
    assert one.stdout.splitlines() == TESTCHAN
    core = run_cli("templates", "list", "tocsin", cwd=tmp_path, site=plugin_site)
    assert core.stdout.splitlines() == [
        "tocsin:console/default.json.j2",
        "tocsin:console/default.txt.j2",
        "tocsin:console/digest.json.j2",
        "tocsin:console/digest.txt.j2",
    ]
    rows = json.loads(run_cli("templates", "list", "testchan", "--json", cwd=tmp_path, site=plugin_site).stdout)
    assert [r["name"] for r in rows["templates"]] == TESTCHAN
    assert rows["templates"][0]["path"].endswith("testchan/default.json.j2")


def test_show_prints_the_packaged_source(tmp_path, plugin_site):
    shown = run_cli("templates", "show", "testchan:testchan/default.json.j2", cwd=tmp_path, site=plugin_site)
    assert (shown.returncode, shown.stdout) == (0, TESTCHAN_TEMPLATE)
    unprefixed = run_cli("templates", "show", "testchan/default.json.j2", cwd=tmp_path, site=plugin_site)
    assert unprefixed.stdout == TESTCHAN_TEMPLATE


def test_mistakes_are_clean_errors(tmp_path, plugin_site):
    cases = [
        (
            ["templates", "show", "testchan:testchan/defalt.json.j2"],
            "error: no template 'testchan:testchan/defalt.json.j2' (did you mean 'testchan:testchan/default.json.j2'?); "
            "tocsin templates list shows them all",
        ),
        (
            ["templates", "list", "testchn"],
            "error: channel 'testchn' is not installed (did you mean 'testchan'?)",
        ),
        (
            ["templates", "copy", "nothing/here.json.j2", "tpl"],
            "error: no template 'nothing/here.json.j2'; tocsin templates list shows them all",
        ),
    ]
    for args, message in cases:
        result = run_cli(*args, cwd=tmp_path, site=plugin_site)
        assert (result.returncode, result.stderr.strip(), result.stdout) == (2, message, ""), args
    assert not (tmp_path / "tpl").exists()


def test_an_unknown_channel_lists_the_installed_ones_and_invents_no_package(tmp_path, plugin_site):
    result = run_cli(
        "templates", "list", "nosuchch", cwd=tmp_path, site=plugin_site, env={"TOCSIN_LOAD_PLUGINS": "testchan"}
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == "error: no channel 'nosuchch' is installed (installed: console, testchan)"
    assert "pip install" not in result.stderr


def test_copy_edit_and_the_copy_is_used(tmp_path, plugin_site):
    config = write(
        tmp_path / "tocsin.toml",
        '[notifications]\ntemplate_dirs = ["tpl"]\n'
        '[[targets]]\nname = "t"\nchannel = "testchan"\nurl = "http://127.0.0.1:9/x"\n',
    )
    (tmp_path / "tpl").mkdir()
    copied = run_cli("templates", "copy", "testchan:testchan/default.json.j2", "tpl", cwd=tmp_path, site=plugin_site)
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.strip() == (
        f"wrote tpl/testchan/default.json.j2; {config} uses it: it overrides testchan:testchan/default.json.j2"
    )
    copy = tmp_path / "tpl" / "testchan" / "default.json.j2"
    assert copy.read_text(encoding="utf-8") == TESTCHAN_TEMPLATE
    copy.write_text(TESTCHAN_TEMPLATE.replace('"type": {{ type }},', '"type": {{ type }}, "team": "ops",'))
    rendered = run_cli("render", "t", "job_failed", cwd=tmp_path, site=plugin_site)
    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(rendered.stdout)["team"] == "ops"
    # the deployment's default also shadows the package's queue_finished: the first folder decides
    listed = run_cli("templates", "list", "testchan", cwd=tmp_path, site=plugin_site)
    assert listed.stdout.splitlines() == [
        f"testchan/default.json.j2  (yours, in {tmp_path / 'tpl'})",
        "testchan:testchan/default.json.j2  (overridden by yours)",
        "testchan:testchan/queue_finished.json.j2  (overridden by yours)",
    ]
    again = run_cli("templates", "copy", "testchan:testchan/default.json.j2", "tpl", cwd=tmp_path, site=plugin_site)
    assert (again.returncode, again.stderr.strip()) == (
        2,
        "error: tpl/testchan/default.json.j2 already exists (use --force to overwrite)",
    )
    forced = run_cli(
        "templates", "copy", "testchan:testchan/default.json.j2", "tpl", "--force", cwd=tmp_path, site=plugin_site
    )
    assert forced.returncode == 0 and copy.read_text(encoding="utf-8") == TESTCHAN_TEMPLATE


def test_copy_into_a_folder_no_config_uses_says_how_to_use_it(tmp_path, plugin_site):
    result = run_cli("templates", "copy", "tocsin:console/default.txt.j2", "mine", cwd=tmp_path, site=plugin_site)
    assert result.stdout.strip() == (
        'wrote mine/console/default.txt.j2; it is used once [notifications] has template_dirs = ["mine"]'
    )
    assert (tmp_path / "mine" / "console" / "default.txt.j2").is_file()


def test_config_option_before_and_after(tmp_path, plugin_site):
    write(tmp_path / "cfg" / "tpl" / "testchan" / "job_failed.json.j2", '{"mine": true}')
    config = write(
        tmp_path / "cfg" / "x.toml",
        '[notifications]\ntemplate_dirs = ["tpl"]\n[[targets]]\nname = "c"\nchannel = "console"\n',
    )
    for args in (
        ["-c", str(config), "templates", "list", "testchan"],
        ["templates", "list", "testchan", "-c", str(config)],
    ):
        result = run_cli(*args, cwd=tmp_path, site=plugin_site)
        assert result.stdout.splitlines()[0] == f"testchan/job_failed.json.j2  (yours, in {tmp_path / 'cfg' / 'tpl'})"
