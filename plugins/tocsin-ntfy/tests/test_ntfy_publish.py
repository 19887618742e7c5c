"""What ntfy receives: the request a user's ntfy server would get, its limits, its errors, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from tocsin import ConfigError, Event, sample_event
from tocsin.testing import Reply, write_config

NTFY_OK = Reply(200, {"id": "sPs7tqR5Ww4S", "time": 1700000000, "event": "message", "topic": "backups"})
PLUGIN = Path(__file__).resolve().parents[1]


def ntfy(tocsin_http_sink, **options):
    """One ntfy target publishing to the sink."""
    tocsin_http_sink.default = NTFY_OK
    return {"name": "phone", "channel": "ntfy", "url": tocsin_http_sink.url, "topic": "backups", **options}


def decoded(value: str) -> str:
    """A header value as ntfy reads it (RFC 2047 encoded words decoded)."""
    return str(make_header(decode_header(value)))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


# -- the headers form -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event_type", "priority", "tag"),
    [
        ("job_failed", "5", "x"),
        ("job_cancelled", "4", "warning"),
        ("backup_completed", "3", "white_check_mark"),
        ("job_started", "2", "information_source"),
    ],
)
def test_headers_form_posts_text_to_the_topic(tocsin_http_sink, tocsin_make_notifier, event_type, priority, tag):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, token="tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2")])
    report = notifier.notify(sample_event(event_type, data={"run_name": "nightly"}))
    assert report.ok, report
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", "/backups")
    assert request.header("x-title") == sample_event(event_type, data={"run_name": "nightly"}).title
    assert request.header("x-priority") == priority
    assert request.header("x-tags") == f"{tag},{event_type}"
    assert request.header("x-click") == "https://example.org/runs/run-0042"
    assert request.header("authorization") == "Bearer tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
    assert request.header("content-type") == "text/plain; charset=utf-8"
    assert "Run: nightly" in request.text
    assert f"· {event_type} · tocsin-sample" in request.text  # the footer: severity, type, instance


def test_failure_text_leads_with_the_error(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink)])
    notifier.notify(Event("job_failed", data={"run_name": "etl", "error": "disk full", "duration": 754}))
    lines = tocsin_http_sink.last.text.splitlines()
    assert lines[:3] == ["A job ended with an error.", "", "Error: disk full"]
    assert "Duration: 12m 34s" in lines
    assert tocsin_http_sink.last.header("authorization") is None  # no token, no Authorization header
    assert tocsin_http_sink.last.header("x-click") is None  # no URL in the event, no click action


def test_priorities_and_tags_from_the_config(tocsin_http_sink, tocsin_make_notifier):
    target = ntfy(tocsin_http_sink, priorities={"failure": 4, "info": 1}, tags=["backup", "rotating_light"])
    notifier = tocsin_make_notifier([target])
    notifier.notify(sample_event("backup_failed"))
    assert tocsin_http_sink.last.header("x-priority") == "4"
    assert tocsin_http_sink.last.header("x-tags") == "x,backup_failed,backup,rotating_light"
    notifier.notify(sample_event("backup_started"))
    assert tocsin_http_sink.last.header("x-priority") == "1"


def test_server_url_with_a_path_and_trailing_slash(tocsin_http_sink, tocsin_make_notifier):
    target = ntfy(tocsin_http_sink)
    target["url"] = tocsin_http_sink.url + "/ntfy/"
    tocsin_make_notifier([target]).notify(sample_event("job_completed"))
    assert tocsin_http_sink.last.path == "/ntfy/backups"


# -- the JSON form --------------------------------------------------------------------------------
def test_json_form_posts_the_document_to_the_server_root(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, form="json", token="tk_json", tags=["nas"])])
    report = notifier.notify(sample_event("backup_failed", data={"run_name": "nas-nightly"}))
    assert report.ok, report
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", "/")
    assert request.header("content-type") == "application/json"
    assert request.header("authorization") == "Bearer tk_json"
    document = request.json()
    assert document["topic"] == "backups"
    assert document["title"] == "Backup failed: nas-nightly"
    assert document["priority"] == 5
    assert document["tags"] == ["x", "backup_failed", "nas"]
    assert document["click"] == "https://example.org/runs/run-0042"
    assert document["message"].startswith("A backup ended with an error.\n\nError: Traceback")
    assert "x-title" not in request.headers


def test_the_stored_message_holds_no_topic_or_token(tocsin_http_sink, tocsin_make_notifier):
    """A Message is stored and printed: the topic (ntfy's password) and token are added at delivery."""
    for form in ("json", "headers"):
        notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, form=form, token="tk_never_stored")])
        stored = json.dumps(notifier.render("phone", "job_failed").to_dict())
        assert "backups" not in stored and "tk_never_stored" not in stored


# -- titles: single line, non-ASCII, limits -------------------------------------------------------
def test_non_ascii_title_travels_as_rfc2047(tocsin_http_sink, tocsin_make_notifier):
    title = "Sauvegarde échouée: base «clients» 🔥 漢字"
    tocsin_make_notifier([ntfy(tocsin_http_sink)]).notify(Event("backup_failed", title=title))
    raw = tocsin_http_sink.last.header("x-title")
    assert raw.isascii() and raw.startswith("=?UTF-8?B?")
    assert all(len(word) <= 75 for word in raw.split(" "))  # RFC 2047's encoded-word length
    assert decoded(raw) == title


def test_ascii_title_that_looks_encoded_is_encoded(tocsin_http_sink, tocsin_make_notifier):
    """Plain text containing '=?' is encoded too, so ntfy shows it as written instead of decoding it."""
    title = "weird =?UTF-8?B?aGFja2Vk?= title"
    tocsin_make_notifier([ntfy(tocsin_http_sink)]).notify(Event("job_failed", title=title))
    assert decoded(tocsin_http_sink.last.header("x-title")) == title


def test_hostile_title_is_one_line_without_control_characters(
    tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event
):
    tocsin_make_notifier([ntfy(tocsin_http_sink)]).notify(
        tocsin_hostile_event("job_failed", title="a\r\nX-Injected: yes\x00\x1b[31m b\u202ec")
    )
    request = tocsin_http_sink.last
    assert "x-injected" not in request.headers
    assert decoded(request.header("x-title")) == "a X-Injected: yes [31m b c"


def test_message_title_and_tags_stay_within_ntfy_limits(tocsin_http_sink, tocsin_make_notifier):
    event = Event(
        "job_failed",
        title="€" * 2000,  # 6,000 bytes of 3-byte characters
        data={"error": "€" * 5000, **{f"field_{i}": "v" * 100 for i in range(60)}},
    )
    tags = [f"tag{i:03d}" + "x" * 20 for i in range(40)]
    tocsin_make_notifier([ntfy(tocsin_http_sink, tags=tags)]).notify(event)
    request = tocsin_http_sink.last
    assert len(request.body) <= 4095 and request.text.endswith("…")  # cut on a character boundary
    title = decoded(request.header("x-title"))
    assert len(title.encode()) <= 1024 and title.endswith("…") and set(title[:-1]) == {"€"}
    assert len(request.header("x-tags").encode()) <= 512
    assert request.header("x-tags").startswith("x,job_failed,tag000")


def test_a_long_ascii_body_is_cut_to_4095_bytes_not_4096(tocsin_http_sink, tocsin_make_notifier):
    # ntfy's server makes a body of exactly 4,096 bytes an attachment: 4,095 is the most that stays a message.
    tocsin_make_notifier([ntfy(tocsin_http_sink)]).notify(Event("job_failed", data={"description": "x" * 10_000}))
    assert len(tocsin_http_sink.last.body) == 4095 and tocsin_http_sink.last.text.endswith("…")


def test_json_form_message_is_cut_to_4095_bytes(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    tocsin_make_notifier([ntfy(tocsin_http_sink, form="json")]).notify(tocsin_hostile_event("job_failed"))
    document = tocsin_http_sink.last.json()
    assert len(document["message"].encode()) <= 4095 and document["message"].endswith("…")
    assert document["message"].count("@everyone") > 0  # ntfy has no mentions: text stays as written


# -- error answers --------------------------------------------------------------------------------
def ntfy_error(status: int, code: int, error: str) -> Reply:
    return Reply(status, {"code": code, "http": status, "error": error, "link": "https://ntfy.sh/docs/publish/"})


def test_unauthorized_fails_at_once_with_ntfys_words(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, token="tk_revoked_token")])
    tocsin_http_sink.reply(ntfy_error(401, 40101, "unauthorized"))
    receipt = notifier.notify(sample_event("job_failed"))["phone"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("failed", 1, 401)
    assert receipt.error == "HTTP 401: unauthorized (ntfy error 40101) — check the token option"


def test_forbidden_topic_and_wrong_url_are_explained(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink)])
    tocsin_http_sink.reply(ntfy_error(403, 40301, "forbidden"), ntfy_error(404, 40401, "page not found"))
    first = notifier.notify(sample_event("job_failed"))["phone"]
    second = notifier.notify(sample_event("job_failed"))["phone"]
    assert first.error == "HTTP 403: forbidden (ntfy error 40301) — the token may not publish to this topic"
    assert second.error.endswith("check the url option: the ntfy server's base URL, without the topic")


def test_rate_limit_is_retried(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink)])
    tocsin_http_sink.reply(ntfy_error(429, 42908, "limit reached: too many messages"))
    receipt = notifier.notify(sample_event("job_failed"))["phone"]
    assert (str(receipt.outcome), receipt.attempts) == ("delivered", 2)


def test_rate_limit_that_never_ends_reports_ntfys_reason(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, max_retries=1)])
    tocsin_http_sink.reply(*[ntfy_error(429, 42901, "limit reached: too many requests, please be nice")] * 2)
    receipt = notifier.notify(sample_event("job_failed"))["phone"]
    assert receipt.attempts == 2
    assert receipt.error == (
        "HTTP 429 rate limited: limit reached: too many requests, please be nice (ntfy error 42901)"
        " (gave up after 2 attempts)"
    )


def test_a_proxys_html_error_page_is_retried_and_summarised(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, max_retries=0)])
    tocsin_http_sink.reply(Reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"))
    receipt = notifier.notify(sample_event("job_failed"))["phone"]
    assert receipt.error.startswith("HTTP 502: <html><body><h1>502 Bad Gateway</h1>")


# -- options --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"topic": "my topic!"}, "topic: must be 1-64 letters, digits, '-' or '_' (ntfy's topic names)"),
        ({"url": "ntfy.sh"}, "url: must start with https:// or http:// (the server, like https://ntfy.sh)"),
        ({"priorities": {"failure": 9}}, "priorities: failure must be 1 (min) to 5 (max), not 9"),
        ({"priorities": {"error": 5}}, "priorities: unknown severity 'error' (use failure, warning, success, info)"),
        ({"tags": ["a,b"]}, "tags: 'a,b' is not a tag (no commas, spaces at the ends or control characters)"),
        ({"form": "xml"}, "form: must be one of 'headers', 'json', not 'xml' (a string)"),
    ],
)
def test_bad_options_are_named_by_file_and_key(tocsin_make_notifier, options, problem):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{"name": "phone", "channel": "ntfy", "topic": "ok", **options}])
    assert any(p.endswith(f"tocsin.toml: targets[0].{problem}") for p in caught.value.problems), caught.value
    assert "my topic!" not in str(caught.value)  # the topic is a secret, even when invalid


def test_tocsin_check_reports_a_bad_topic(tmp_path):
    config = write_config(
        tmp_path / "tocsin.toml", {"targets": [{"name": "phone", "channel": "ntfy", "topic": "bad topic!"}]}
    )
    result = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "tocsin.toml: targets[0].topic: must be 1-64 letters, digits, '-' or '_'" in result.stderr
    assert "bad topic!" not in result.stderr


# -- command line ---------------------------------------------------------------------------------
def test_tocsin_render_shows_headers_and_text(tmp_path):
    config = write_config(
        tmp_path / "tocsin.toml",
        {"targets": [{"name": "phone", "channel": "ntfy", "topic": "secret-topic", "token": "tk_hidden"}]},
    )
    result = run_cli("render", "phone", "job_failed", "-d", "run_name=nightly", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "X-Title: Job failed: nightly",
        "X-Priority: 5",
        "X-Tags: x,job_failed",
        "X-Click: https://example.org/runs/run-0042",
    ]
    assert "Error: Traceback (most recent call last):" in result.stdout
    assert "secret-topic" not in result.stdout and "tk_hidden" not in result.stdout


def test_tocsin_send_delivers_to_the_topic(tmp_path, tocsin_http_sink):
    config = write_config(tmp_path / "tocsin.toml", {"targets": [ntfy(tocsin_http_sink)]})
    result = run_cli("send", "backup_completed", "-d", "backup_name=nas", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "phone  delivered  1 attempt  HTTP 200" in result.stderr
    assert tocsin_http_sink.last.header("x-title") == "Backup completed: nas"


# -- templates ------------------------------------------------------------------------------------
def test_event_specific_template_overrides_by_file_name(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "ntfy"
    folder.mkdir(parents=True)
    (folder / "job_failed.title.j2").write_text("🚨 {{ data.run_name }} broke")
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink)], notifications={"template_dirs": [str(folder.parent)]})
    notifier.notify(sample_event("job_failed"))
    assert decoded(tocsin_http_sink.last.header("x-title")) == "🚨 nightly-etl broke"
    notifier.notify(sample_event("job_completed"))  # other events keep the packaged default
    assert tocsin_http_sink.last.header("x-title") == "Job completed: nightly-etl"


def test_override_extends_the_packaged_text_and_calls_super(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "ntfy"
    folder.mkdir(parents=True)
    (folder / "default.txt.j2").write_text(
        '{% extends "ntfy:ntfy/default.txt.j2" %}\n{% block footer %}On call: Ana\n{{ super() }}{% endblock %}\n'
    )
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink)], notifications={"template_dirs": [str(folder.parent)]})
    notifier.notify(Event("job_failed", data={"run_name": "etl", "error": "disk full"}))
    text = tocsin_http_sink.last.text
    assert text.startswith("A job ended with an error.\n\nError: disk full\n")
    assert "On call: Ana\nfailure · job_failed" in text


# -- written as a third party would ---------------------------------------------------------------
def test_plugin_uses_only_the_public_api():
    """The plugin imports ``tocsin`` (and nothing under it): what PLUGINS.md documents, nothing private."""
    for source in (PLUGIN / "tocsin_ntfy").glob("*.py"):
        for line in source.read_text().splitlines():
            if line.startswith(("import tocsin", "from tocsin")):
                assert line.startswith("from tocsin import "), f"{source.name}: {line}"
