"""The CLI, run as a user runs it: a subprocess, real config files, real servers, exit codes 0/1/2."""

from __future__ import annotations

import json

from tocsin.testing import HttpSink, Reply

from .conftest import run_cli, write


def hook_config(tmp_path, url: str, **extra: str) -> str:
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    write(
        tmp_path / "tocsin.toml",
        f"""
        [notifications]
        retry_backoff = 0.01
        max_retries = 1

        [[targets]]
        name = "hook"
        channel = "testchan"
        url = "{url}/SECRET-TOKEN-PATH"
        {lines}

        [[targets]]
        name = "console"
        channel = "console"
        stream = "stderr"
        """,
    )
    return str(tmp_path / "tocsin.toml")


def test_send_without_config_prints_to_the_console(tmp_path):
    result = run_cli(
        "send", "job_failed", "-d", "run_name=nightly", "-d", "error=disk full", "-d", "duration=754", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "❌ Job failed: nightly" in result.stdout
    assert "disk full" in result.stdout and "12m 34s" in result.stdout
    assert "✓ console  delivered  1 attempt" in result.stderr


def test_send_exit_codes(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url)
    ok = run_cli("send", "job_failed", "-d", "run_name=x", "--config", config, cwd=tmp_path, site=plugin_site)
    assert ok.returncode == 0, ok.stderr
    assert "✓ hook  delivered" in ok.stderr and "✓ console  delivered" in ok.stderr
    tocsin_http_sink.reply(Reply(500), Reply(500))
    failed = run_cli("send", "job_failed", "--config", config, cwd=tmp_path, site=plugin_site)
    assert failed.returncode == 1
    assert "✗ hook  failed  2 attempts  HTTP 500" in failed.stderr
    assert "✓ console  delivered" in failed.stderr  # the other target still went out
    assert "SECRET-TOKEN" not in failed.stderr + failed.stdout


def test_send_json_data_from_stdin_and_target_selection(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url, events='["never"]')
    event = {"title": "Custom title", "severity": "warning", "data": {"run_name": "from-json", "size": 1024}}
    result = run_cli(
        "send",
        "job_completed",
        "--json",
        "-",
        "--target",
        "hook",
        "--json-report",
        "-",
        "--config",
        config,
        cwd=tmp_path,
        site=plugin_site,
        input=json.dumps(event),
    )
    assert result.returncode == 0, result.stderr
    body = tocsin_http_sink.last.json()
    assert body["title"] == "⚠️ Custom title" and body["severity"] == "warning"
    report = json.loads(result.stdout)
    assert [r["target"] for r in report["receipts"]] == ["hook"]
    assert report["receipts"][0]["outcome"] == "delivered"


def test_send_usage_errors_exit_2(tmp_path):
    assert run_cli("send", "Bad Type", cwd=tmp_path).returncode == 2
    result = run_cli("send", "job_failed", "-d", "novalue", cwd=tmp_path)
    assert result.returncode == 2 and "expected KEY=VALUE" in result.stderr
    result = run_cli("send", "job_failed", "--target", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no target named 'nope'" in result.stderr


def test_bad_config_exits_2_and_lists_every_problem(tmp_path, plugin_site):
    write(
        tmp_path / "tocsin.toml",
        """
        [[targets]]
        name = "a"
        channel = "testchan"

        [[targets]]
        name = "b"
        channel = "pigeon"
        """,
    )
    for command, code in ((["send", "job_failed"], 1), (["check"], 2)):
        result = run_cli(*command, cwd=tmp_path, site=plugin_site)
        assert result.returncode == code, command
        assert "tocsin.toml: targets[0].url: required" in result.stderr
        assert "targets[1] 'b': no channel 'pigeon' is installed (installed: " in result.stderr


def test_config_from_environment_variable(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url)
    other = tmp_path / "elsewhere"
    other.mkdir()
    result = run_cli("send", "job_failed", cwd=other, site=plugin_site, env={"TOCSIN_CONFIG": config})
    assert result.returncode == 0 and len(tocsin_http_sink.requests) == 1


def test_test_command(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url)
    result = run_cli("test", "hook", "--config", config, cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0, result.stderr
    assert tocsin_http_sink.last.json()["title"].endswith("tocsin test notification: this target works")
    with HttpSink(default=Reply(404, {"message": "Unknown Webhook"})) as gone:
        config = hook_config(tmp_path, gone.url)
        result = run_cli("test", "hook", "--config", config, cwd=tmp_path, site=plugin_site)
    assert result.returncode == 1 and "Unknown Webhook" in result.stderr


def test_test_of_a_disabled_target_says_why_nothing_is_sent(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url, events='["job_*"]', when='["failure"]', enabled="false")
    result = run_cli("test", "hook", "--config", config, cwd=tmp_path, site=plugin_site)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == (
        f"error: {config}: target 'hook' has enabled = false: nothing sent (set enabled = true to test it)"
    )
    config = hook_config(tmp_path, tocsin_http_sink.url, events='["backup_*"]', when='["success"]')
    result = run_cli("test", "hook", "--config", config, cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0, result.stderr  # its other rules do not stop a test (job_completed, success)
    assert len(tocsin_http_sink.requests) == 1
    write(tmp_path / "off.toml", '[notifications]\nenabled = false\n[[targets]]\nname = "c"\nchannel = "console"\n')
    result = run_cli("test", "c", "--config", str(tmp_path / "off.toml"), cwd=tmp_path, site=plugin_site)
    assert result.returncode == 2
    assert "notifications are off ([notifications] enabled = false): nothing sent to 'c'" in result.stderr


def test_render_shows_the_message_and_sends_nothing(tmp_path, plugin_site, tocsin_http_sink):
    config = hook_config(tmp_path, tocsin_http_sink.url)
    result = run_cli(
        "render", "hook", "job_failed", "-d", "run_name=rendered", "--config", config, cwd=tmp_path, site=plugin_site
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["title"] == "❌ Job failed: rendered"
    assert tocsin_http_sink.requests == []
    as_message = run_cli(
        "render", "hook", "job_failed", "--message-json", "--config", config, cwd=tmp_path, site=plugin_site
    )
    message = json.loads(as_message.stdout)
    assert message["channel"] == "testchan" and message["target"] == "hook"
    assert "SECRET-TOKEN" not in as_message.stdout


def test_channels_lists_distribution_version_and_options(tmp_path, plugin_site):
    result = run_cli("channels", "--json", cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    channels = {c["name"]: c for c in data["channels"]}
    assert channels["testchan"]["distribution"] == "tocsin-testchan"
    assert channels["testchan"]["version"] == "1.2.3"
    url = next(o for o in channels["testchan"]["options"] if o["name"] == "url")
    assert url == {
        "name": "url",
        "type": "Secret",
        "required": True,
        "default": None,
        "secret": True,
        "doc": "Where to POST.",
    }
    assert "console" in channels
    assert any("broken" in e for e in data["errors"])
    text = run_cli("channels", cwd=tmp_path, site=plugin_site)
    assert "testchan  (tocsin-testchan 1.2.3)  A test channel." in text.stdout
    assert "url: Secret (required, secret)  Where to POST." in text.stdout


def test_check_renders_every_target(tmp_path, plugin_site):
    config = hook_config(tmp_path, "http://127.0.0.1:9")
    result = run_cli("check", "--config", config, cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0, result.stderr
    assert "ok (2 targets, " in result.stdout
    write(tmp_path / "tpl" / "testchan" / "default.json.j2", '{"a": {{ nope | nofilter }}}')
    write(
        tmp_path / "with-tpl.toml",
        '[notifications]\ntemplate_dirs = ["tpl"]\n[[targets]]\nname = "hook"\nchannel = "testchan"\nurl = "http://x"\n',
    )
    result = run_cli("check", "--config", str(tmp_path / "with-tpl.toml"), cwd=tmp_path, site=plugin_site)
    assert result.returncode == 2
    assert "target 'hook', event apply_end and 26 more: template 'testchan/default.json.j2' line 1" in result.stderr


def test_init_writes_a_config_that_checks(tmp_path):
    env = {"DISCORD_WEBHOOK_URL": "http://127.0.0.1:9/unused"}  # used when tocsin-discord is installed
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "tocsin.toml").is_file()
    assert run_cli("check", cwd=tmp_path, env=env).returncode == 0
    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run_cli("init", "--force", cwd=tmp_path).returncode == 0
    sent = run_cli("send", "job_completed", "-d", "run_name=x", cwd=tmp_path, env=env)
    assert sent.returncode == 0 and "Job completed: x" in sent.stdout and "my-scheduler" in sent.stdout
    stats = run_cli("outbox", "stats", "--json", cwd=tmp_path)  # the durable outbox is on from the start
    assert json.loads(stats.stdout)["targets"]["console"]["delivered"] == 1
    assert (tmp_path / "tocsin-outbox.db").is_file()
