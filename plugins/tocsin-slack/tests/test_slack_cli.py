"""``tocsin render``, ``tocsin test`` and ``tocsin channels`` with Slack targets, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tocsin_slack.limits import violations

from tocsin.testing import Reply, write_config

TOKEN = "xoxb-9999-SeCrEtClItOkEn"
WEBHOOK_PATH = "/services/T1/B1/SeCrEtClIhOoK"


def run_cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "TOCSIN_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def config(tmp_path, sink):
    return write_config(
        tmp_path / "tocsin.toml",
        {
            "notifications": {"retry_backoff": 0.01, "retry_backoff_max": 0.05},
            "source": {"instance": "prod-scheduler"},
            "targets": [
                {"name": "team-slack", "channel": "slack", "url": sink.url + WEBHOOK_PATH},
                {
                    "name": "ops-slack",
                    "channel": "slack-api",
                    "token": TOKEN,
                    "channel_id": "C0123456789",
                    "api_url": sink.url + "/api/chat.postMessage",
                },
            ],
        },
    )


def test_render_prints_the_exact_json_and_no_secret(tocsin_http_sink, tmp_path):
    path = config(tmp_path, tocsin_http_sink)

    webhook = run_cli(
        "render", "team-slack", "job_failed", "-d", "run_name=<!channel> nightly", "--config", str(path), cwd=tmp_path
    )
    api = run_cli("render", "ops-slack", "job_failed", "--config", str(path), cwd=tmp_path)

    assert webhook.returncode == 0, webhook.stderr
    body = json.loads(webhook.stdout)
    assert violations(body) == []
    assert body["blocks"][0]["text"]["text"] == "❌ Job failed: <!channel> nightly"  # plain_text: shown as is
    assert "*Run*\n&lt;!channel&gt; nightly" in [f["text"] for f in body["blocks"][1]["fields"]]
    assert body["text"].startswith("❌ Job failed: &lt;!channel&gt; nightly")
    assert "SeCrEtClIhOoK" not in webhook.stdout + webhook.stderr
    assert api.returncode == 0, api.stderr
    api_body = json.loads(api.stdout)
    assert api_body["channel"] == "C0123456789"
    assert TOKEN not in api.stdout + api.stderr
    assert tocsin_http_sink.requests == []  # render sends nothing


def test_test_command_sends_the_sample_event(tocsin_http_sink, tmp_path):
    path = config(tmp_path, tocsin_http_sink)
    tocsin_http_sink.reply(Reply(200, "ok"), Reply(200, {"ok": True, "ts": "1.0"}))

    webhook = run_cli("test", "team-slack", "--config", str(path), cwd=tmp_path)
    api = run_cli("test", "ops-slack", "--config", str(path), cwd=tmp_path)

    assert webhook.returncode == 0, webhook.stderr
    assert "team-slack  delivered  1 attempt  HTTP 200" in webhook.stderr
    assert api.returncode == 0, api.stderr
    assert "ops-slack  delivered" in api.stderr
    sent_webhook, sent_api = tocsin_http_sink.requests
    assert sent_webhook.path == WEBHOOK_PATH
    assert sent_webhook.json()["blocks"][0]["text"]["text"] == "✅ tocsin test notification: this target works"
    assert sent_api.path == "/api/chat.postMessage"
    assert sent_api.header("authorization") == f"Bearer {TOKEN}"


def test_test_command_reports_slacks_error_and_exits_1(tocsin_http_sink, tmp_path):
    path = config(tmp_path, tocsin_http_sink)
    tocsin_http_sink.reply(Reply(404, "no_team"), Reply(200, {"ok": False, "error": "not_in_channel"}))

    webhook = run_cli("test", "team-slack", "--config", str(path), cwd=tmp_path)
    api = run_cli("test", "ops-slack", "--config", str(path), cwd=tmp_path)

    assert webhook.returncode == 1
    assert "HTTP 404: no_team" in webhook.stderr
    assert "SeCrEtClIhOoK" not in webhook.stderr
    assert api.returncode == 1
    assert "not_in_channel" in api.stderr and "invite it" in api.stderr
    assert TOKEN not in api.stderr


def test_channels_lists_both_slack_channels_with_their_options(tmp_path):
    result = run_cli("channels", "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    channels = {c["name"]: c for c in json.loads(result.stdout)["channels"]}
    assert channels["slack"]["distribution"] == "tocsin-slack"
    api_options = {o["name"]: o for o in channels["slack-api"]["options"]}
    assert api_options["token"]["secret"] and api_options["token"]["required"]
    assert api_options["channel_id"]["required"]
    assert "channel" not in api_options  # owned by the core: it names the tocsin channel
    assert {o["name"] for o in channels["slack"]["options"]} >= {"url", "token", "channel_id", "api_url"}
