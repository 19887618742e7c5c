"""The webhook channel through the command line, as a user runs it: render, test, send, check, channels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import standardwebhooks

from tocsin.testing import Reply

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "tok-5f1c0de7b3a94e21"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env["HOOK_TOKEN"] = TOKEN
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "tocsin.toml"
    path.write_text(
        f"""
[notifications]
max_retries = 0

[source]
instance = "scheduler-eu"

[[targets]]
name = "hook"
channel = "webhook"
url = "{url}"
secret = "{SECRET}"
headers = {{ Authorization = "Bearer ${{HOOK_TOKEN}}" }}
{extra}
""",
        encoding="utf-8",
    )
    return path


def test_render_shows_the_headers_and_body_without_secrets(tmp_path):
    path = config(tmp_path, "https://hooks.example.org/in/private-path-1234")
    result = run_cli("render", "hook", "job_failed", "-d", "run_name=nightly", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    head, _, body_text = result.stdout.partition("\n\n")
    assert head.splitlines()[0] == "content-type: application/json"
    assert head.splitlines()[1].startswith("webhook-id: ")
    body = json.loads(body_text)
    assert body["schema"] == "tocsin.event/v1"
    assert (body["type"], body["title"], body["data"]["run_name"]) == ("job_failed", "Job failed: nightly", "nightly")
    assert body["source"]["instance"] == "scheduler-eu"
    assert body["id"] == head.splitlines()[1].split(": ", 1)[1]
    for secret in (TOKEN, SECRET, "private-path-1234"):
        assert secret not in result.stdout + result.stderr

    as_message = run_cli("render", "hook", "job_failed", "--message-json", "--config", str(path), cwd=tmp_path)
    assert json.loads(as_message.stdout)["body"]["schema"] == "tocsin.event/v1"


def test_render_uses_the_template_option(tmp_path):
    (tmp_path / "tpl" / "webhook").mkdir(parents=True)
    (tmp_path / "tpl" / "webhook" / "slim.json.j2").write_text('{"event": {{ type }}}', encoding="utf-8")
    path = config(tmp_path, "https://hooks.example.org/in", 'template = "slim.json.j2"')
    text = path.read_text().replace("max_retries = 0", 'max_retries = 0\ntemplate_dirs = ["tpl"]')
    path.write_text(text, encoding="utf-8")
    result = run_cli("render", "hook", "backup_failed", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.partition("\n\n")[2]) == {"event": "backup_failed"}


def test_test_command_sends_a_signed_sample(tocsin_http_sink, tmp_path):
    path = config(tmp_path, tocsin_http_sink.url + "/in")
    result = run_cli("test", "hook", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hook  delivered  1 attempt  HTTP 200" in result.stderr
    request = tocsin_http_sink.last
    assert request.header("authorization") == f"Bearer {TOKEN}"
    body = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    assert body["title"] == "tocsin test notification: this target works"
    assert body["type"] == "job_completed" and body["data"]["run_name"] == "nightly-etl"


def test_send_reports_a_refusal_with_the_secrets_hidden(tocsin_http_sink, tmp_path):
    tocsin_http_sink.reply(lambda request: Reply(403, {"error": f"token {request.header('authorization')} revoked"}))
    path = config(tmp_path, tocsin_http_sink.url + "/in/private-path-1234")
    result = run_cli(
        "send", "job_failed", "-d", "run_name=nightly", "--json-report", "-", "--config", str(path), cwd=tmp_path
    )
    assert result.returncode == 1
    receipt = json.loads(result.stdout)["receipts"][0]
    assert receipt["outcome"] == "failed" and receipt["status_code"] == 403
    assert receipt["error"] == (
        "HTTP 403: the receiver refused the request (check the target's headers and secret): token *** revoked"
    )
    for secret in (TOKEN, SECRET, "private-path-1234"):
        assert secret not in result.stdout + result.stderr


def test_check_and_channels(tmp_path):
    good = config(tmp_path, "https://hooks.example.org/in")
    assert run_cli("check", "--config", str(good), cwd=tmp_path).returncode == 0

    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace(SECRET, "whsec_not*base64"), encoding="utf-8")
    result = run_cli("check", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.toml: targets[0].secret: a whsec_ secret must be whsec_ followed by base64" in result.stderr
    assert "not*base64" not in result.stderr

    listed = run_cli("channels", "--json", cwd=tmp_path)
    channel = next(c for c in json.loads(listed.stdout)["channels"] if c["name"] == "webhook")
    assert channel["distribution"] == "tocsin-webhook"
    options = {o["name"]: o for o in channel["options"]}
    assert list(options) == ["url", "method", "headers", "secret", "max_bytes", "template", "attachments", "inline_max_bytes"]
    assert options["url"]["required"] and options["url"]["secret"]
    assert options["headers"]["secret"] and options["secret"]["secret"]
    assert options["method"]["default"] == "POST"
