"""The ``tocsin`` command with a teams target, run as a user runs it: a subprocess and a real config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tocsin.testing import Reply, write_config

SECRET = "sig=SuperSecretSignature123"


def config(tmp_path: Path, sink_url: str, **options: Any) -> Path:
    url = f"{sink_url}/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&{SECRET}"
    notifications = options.pop("notifications", {})
    data = {
        "notifications": {"retry_backoff": 0.01, "max_retries": 1, **notifications},
        "source": {"instance": "sched-01"},
        "targets": [{"name": "team-chat", "channel": "teams", "url": url, **options}],
    }
    return write_config(tmp_path / "tocsin.toml", data)


def tocsin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_render_prints_the_card_without_sending_or_showing_the_url(tocsin_http_sink, tmp_path):
    path = config(tmp_path, tocsin_http_sink.url)
    result = tocsin(
        "render",
        "team-chat",
        "job_failed",
        "-d",
        "run_name=[click](http://evil.example)",
        "--config",
        str(path),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    card = payload["attachments"][0]["content"]
    assert (card["type"], card["version"], card["$schema"]) == (
        "AdaptiveCard",
        "1.4",
        "http://adaptivecards.io/schemas/adaptive-card.json",
    )
    assert card["body"][0]["items"][0]["text"] == "❌ Job failed: \\[click\\]\\(http://evil.example\\)"
    assert "SuperSecretSignature123" not in result.stdout + result.stderr
    assert tocsin_http_sink.requests == []


def test_render_messagecard(tocsin_http_sink, tmp_path):
    path = config(tmp_path, tocsin_http_sink.url, format="messagecard")
    result = tocsin("render", "team-chat", "backup_completed", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["@type"] == "MessageCard" and card["themeColor"] == "2EB67D"
    assert card["summary"] == "✅ Backup completed: nightly-etl"


def test_render_uses_a_template_override_by_file_name(tocsin_http_sink, tmp_path):
    override = tmp_path / "notify-templates" / "teams" / "job_failed.json.j2"
    override.parent.mkdir(parents=True)
    override.write_text(
        '{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",'
        ' "content": {"type": "AdaptiveCard", "version": "1.4", "body": ['
        '{"type": "TextBlock", "text": {{ ("Ours: " ~ title) | teams_escape }}}]}}]}',
        encoding="utf-8",
    )
    path = config(tmp_path, tocsin_http_sink.url, notifications={"template_dirs": ["notify-templates"]})
    result = tocsin("render", "team-chat", "job_failed", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)["attachments"][0]["content"]["body"]
    assert body == [{"type": "TextBlock", "text": "Ours: Job failed: nightly-etl"}]


def test_test_sends_the_sample_card(tocsin_http_sink, tmp_path):
    tocsin_http_sink.default = Reply(202, b"")
    path = config(tmp_path, tocsin_http_sink.url)
    result = tocsin("test", "team-chat", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "team-chat  delivered  1 attempt  HTTP 202" in result.stderr
    (request,) = tocsin_http_sink.requests
    card = request.json()["attachments"][0]["content"]
    assert card["body"][0]["style"] == "good"
    assert card["body"][0]["items"][0]["text"] == "✅ tocsin test notification: this target works"


def test_test_reports_teams_error_and_exits_1(tocsin_http_sink, tmp_path):
    tocsin_http_sink.default = Reply(
        404, {"error": {"code": "WorkflowNotFound", "message": "The workflow was not found."}}
    )
    path = config(tmp_path, tocsin_http_sink.url)
    result = tocsin("test", "team-chat", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert "team-chat  failed  1 attempt  HTTP 404" in result.stderr
    assert "WorkflowNotFound: The workflow was not found." in result.stderr
    assert "SuperSecretSignature123" not in result.stderr + result.stdout


def test_channels_lists_teams_and_its_options(tmp_path):
    result = tocsin("channels", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = [row for row in json.loads(result.stdout)["channels"] if row["name"] == "teams"]
    assert row["distribution"] == "tocsin-teams"
    options = {option["name"]: option for option in row["options"]}
    assert set(options) == {"url", "format", "mentions", "mention_when", "full_width", "max_bytes"}
    assert options["url"]["secret"] and options["url"]["required"]
    assert options["format"]["default"] == "adaptive" and options["max_bytes"]["default"] == 20_000
