"""The command line with a discord target: render shows the exact JSON, test sends the sample, check
explains bad options. Each runs ``python -m tocsin`` in a subprocess against a real config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from tocsin.testing.sinks import Reply
from tocsin.testing.toml import write_config

TOKEN = "s3cr3t-t0ken-do-not-print"


def run_cli(*args: str, cwd, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "TOCSIN_CONFIG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60
    )


def write(tmp_path, **target):
    data = {
        "notifications": {"max_retries": 0, "timeout": 5.0},
        "source": {"instance": "prod-scheduler"},
        "targets": [{"name": "team-discord", "channel": "discord", "url": "${DISCORD_WEBHOOK_URL}", **target}],
    }
    return str(write_config(tmp_path / "tocsin.toml", data))


def test_render_prints_the_exact_json_that_would_be_sent(tmp_path):
    config = write(tmp_path, mention="role:123456789012345678", username="Nightly jobs")
    env = {"DISCORD_WEBHOOK_URL": f"https://discord.com/api/webhooks/42/{TOKEN}"}
    result = run_cli(
        "render", "team-discord", "job_failed", "-d", "run_name=@everyone nightly", "--config", config,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["content"] == "<@&123456789012345678> ❌ Job failed: @\u200beveryone nightly"
    assert body["allowed_mentions"] == {"parse": [], "roles": ["123456789012345678"]}
    assert body["username"] == "Nightly jobs"
    [embed] = body["embeds"]
    assert embed["color"] == 0xE01E5A and embed["footer"] == {"text": "prod-scheduler"}
    assert "IOError: disk full" in embed["description"]  # the sample error
    assert TOKEN not in result.stdout + result.stderr


def test_render_message_json_is_what_an_outbox_stores(tmp_path):
    config = write(tmp_path)
    env = {"DISCORD_WEBHOOK_URL": f"https://discord.com/api/webhooks/42/{TOKEN}"}
    result = run_cli(
        "render", "team-discord", "queue_finished", "--message-json", "--config", config, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["channel"] == "discord" and message["event_type"] == "queue_finished"
    assert message["body"]["embeds"][0]["description"].endswith("ran every job it had and is now idle.")
    assert TOKEN not in result.stdout


def test_test_command_sends_the_sample_event(tmp_path, tocsin_http_sink):
    config = write(tmp_path, thread_id="998877665544332211")
    env = {"DISCORD_WEBHOOK_URL": f"{tocsin_http_sink.url}/api/webhooks/42/{TOKEN}"}
    result = run_cli("test", "team-discord", "--config", config, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "team-discord  delivered  1 attempt  HTTP 200" in result.stderr
    request = tocsin_http_sink.last
    assert parse_qs(urlsplit(request.path).query) == {"wait": ["true"], "thread_id": ["998877665544332211"]}
    body = request.json()
    assert body["embeds"][0]["title"] == "✅ tocsin test notification: this target works"
    assert body["embeds"][0]["color"] == 0x2EB67D
    assert body["allowed_mentions"] == {"parse": []}


def test_test_command_reports_a_deleted_webhook(tmp_path, tocsin_http_sink):
    tocsin_http_sink.reply(Reply(404, {"message": "Unknown Webhook", "code": 10015}))
    config = write(tmp_path)
    env = {"DISCORD_WEBHOOK_URL": f"{tocsin_http_sink.url}/api/webhooks/42/{TOKEN}"}
    result = run_cli("test", "team-discord", "--config", config, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "HTTP 404: webhook not found or token invalid (was it deleted?) [Discord: Unknown Webhook" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_channels_lists_discord_and_its_options(tmp_path):
    result = run_cli("channels", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [discord] = [c for c in json.loads(result.stdout)["channels"] if c["name"] == "discord"]
    assert discord["distribution"] == "tocsin-discord"
    options = {o["name"]: o for o in discord["options"]}
    assert list(options) == [
        "url",
        "username",
        "avatar_url",
        "thread_id",
        "content",
        "mention",
        "mention_when",
        "max_attachment_bytes",
    ]
    assert options["url"]["secret"] and options["url"]["required"]
    assert options["content"]["default"] is True and options["mention"]["default"] is None
    assert all(o["doc"] for o in options.values())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("mention", "@everyone", "targets[0].mention: expected a role or user id"),
        ("username", "Discord alerts", "targets[0].username: Discord rejects webhook names that contain 'discord'"),
        ("thread_id", "general", "targets[0].thread_id: must be the thread's numeric id"),
        ("mention_when", ["failure", "sometimes"], "targets[0].mention_when: must be 'always' or a list of"),
        ("avatar_url", "file:///etc/passwd", "targets[0].avatar_url: must be an http(s) URL"),
    ],
)
def test_check_names_the_bad_option(tmp_path, option, value, message):
    config = write(tmp_path, **{option: value})
    env = {"DISCORD_WEBHOOK_URL": f"https://discord.com/api/webhooks/42/{TOKEN}"}
    result = run_cli("check", "--config", config, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert TOKEN not in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"https://discord.com/api/webhooks/42/{TOKEN}/slack", "without the /slack or /github suffix"),
        (f"https://discord.com/channels/42/{TOKEN}", "looks like https://discord.com/api/webhooks/<id>/<token>"),
        (f"discord.com/api/webhooks/42/{TOKEN}", "must be an http(s) URL"),
    ],
)
def test_check_rejects_a_wrong_webhook_url_without_printing_it(tmp_path, url, message):
    config = write(tmp_path)
    result = run_cli("check", "--config", config, cwd=tmp_path, env={"DISCORD_WEBHOOK_URL": url})
    assert result.returncode == 2
    assert "targets[0].url: " in result.stderr and message in result.stderr
    assert TOKEN not in result.stderr
