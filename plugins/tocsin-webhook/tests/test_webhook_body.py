"""The body: the documented tocsin.event/v1 schema, hostile data, and templates overridden by file name."""

from __future__ import annotations

import jsonschema
import standardwebhooks
from tocsin_webhook import SCHEMA, json_schema, verify

import tocsin
from tocsin import Event

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SOURCE = {"instance": "scheduler-eu", "url": "https://scheduler.example.org", "app_version": "4.2.0"}


def hook(url: str, **options) -> dict:
    return {"name": "hook", "channel": "webhook", "url": url, "secret": SECRET, **options}


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_default_body_is_the_documented_schema(tocsin_http_sink, tocsin_make_notifier):
    event = Event(
        "job_failed",
        data={
            "run_id": "r-7",
            "run_name": "nightly",
            "status": "failed",
            "last_step": "load",
            "error": "disk full",
            "created_at": "2026-01-02T03:04:05Z",
            "dataset_url": "https://data.example/ds/7",
            "rows": 12,
            "tags": ["a", "b"],
        },
        user={"name": "Ada", "email": "ada@example.org"},
    )
    tocsin_make_notifier([hook(tocsin_http_sink.url)], source=SOURCE).notify(event)
    body = standardwebhooks.Webhook(SECRET).verify(tocsin_http_sink.last.body, tocsin_http_sink.last.headers)

    jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker()).validate(body)
    assert list(body) == ["schema", "type", "id", "timestamp", "severity", "title", "data", "user", "source"]
    assert body["schema"] == SCHEMA == "tocsin.event/v1"
    assert body["type"] == "job_failed"
    assert body["id"] == event.id == tocsin_http_sink.last.header("webhook-id")
    assert body["timestamp"] == event.occurred_at.isoformat().replace("+00:00", "Z")
    assert (body["severity"], body["title"]) == ("failure", "Job failed: nightly")
    assert body["data"] == event.data  # every field, as given
    assert body["user"] == {"name": "Ada", "email": "ada@example.org", "id": None}
    assert body["source"] == {**SOURCE, "host": event.source.host, "tocsin_version": tocsin.__version__}


def test_every_sample_event_matches_the_schema(tocsin_make_notifier, tocsin_sample_events):
    notifier = tocsin_make_notifier([hook("https://example.org/hook")])
    validator = jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())
    for event in tocsin_sample_events:
        body = notifier.render("hook", event).body
        validator.validate(body)
        assert body["data"] == event.data and body["user"] is None


def test_hostile_data_arrives_whole_as_valid_signed_json(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    event = tocsin_hostile_event("job_failed")
    report = tocsin_make_notifier([hook(tocsin_http_sink.url, max_bytes=10_485_760)]).notify(event)
    assert report["hook"].outcome == "delivered"
    request = tocsin_http_sink.last

    assert len(request.body) > 1024 * 1024  # under a 10 MB max_bytes the 1 MB error is sent whole
    body = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    assert verify(request.body, request.headers, SECRET) == body
    jsonschema.Draft202012Validator(json_schema()).validate(body)
    assert body["data"] == event.data  # quotes, newlines, NUL, non-BMP, 40+ extra fields: all exact
    assert body["title"] == event.title[:1999] + "…"  # titles are cut at 2,000 characters for every channel
    assert body["user"]["name"] == event.user.name
    assert body["source"]["instance"] == event.source.instance
    assert "🎉" in request.text  # UTF-8 on the wire, not \\u escapes
    # Nothing from the data reached the request line or the headers (the CRLF strings stay in the body).
    assert request.path == "/"
    assert "x-injected" not in request.headers and "bcc" not in request.headers
    assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type"}


def test_the_body_is_bounded_by_max_bytes_with_a_visible_mark(tocsin_http_sink, tocsin_make_notifier):
    # Before: a 5.5 MB body was sent as it was. Now: 256 KiB by default, cut where it is biggest.
    data = {"log": "L" * 5_500_000, "keys": {f"k{i}": i for i in range(10_000)}, "run_name": "nightly"}
    report = tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(Event("job_failed", data=data))
    assert report["hook"].outcome == "delivered"
    request = tocsin_http_sink.last
    assert len(request.body) <= 262_144
    body = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    jsonschema.Draft202012Validator(json_schema()).validate(body)
    assert body["truncated"] is True and body["data"]["run_name"] == "nightly"
    assert body["data"]["log"].startswith("LLL") and body["data"]["log"].endswith("…")


def test_lone_surrogates_are_escaped_and_the_signature_still_holds(tocsin_http_sink, tocsin_make_notifier):
    event = Event("job_failed", data={"broken": "half a pair: \ud83d end"})
    tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(event)
    request = tocsin_http_sink.last
    assert request.body.isascii()
    assert standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)["data"] == event.data


def test_a_file_of_the_same_name_in_template_dirs_wins(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    write(
        tmp_path / "tpl" / "webhook" / "default.json.j2",
        '{"text": {{ mark ~ " " ~ title }}, "run": {{ data.run_name }}, "error": {{ error }}}',
    )
    write(tmp_path / "tpl" / "webhook" / "job_completed.json.j2", '{"ok": {{ data.run_name }}}')
    notifier = tocsin_make_notifier(
        [hook(tocsin_http_sink.url)], notifications={"template_dirs": [str(tmp_path / "tpl")]}
    )

    notifier.notify(Event("job_failed", data={"run_name": 'say "hi"\n', "error": "disk full"}))
    body = standardwebhooks.Webhook(SECRET).verify(tocsin_http_sink.last.body, tocsin_http_sink.last.headers)
    assert body == {"text": '❌ Job failed: say "hi"\n', "run": 'say "hi"\n', "error": "disk full"}

    notifier.notify(Event("job_completed", data={"run_name": "nightly"}))  # the event-specific file wins
    assert standardwebhooks.Webhook(SECRET).verify(tocsin_http_sink.last.body, tocsin_http_sink.last.headers) == {
        "ok": "nightly"
    }


def test_an_override_can_extend_the_default_and_add_fields(tocsin_make_notifier, tmp_path, tocsin_hostile_event):
    write(
        tmp_path / "tpl" / "webhook" / "default.json.j2",
        '{% extends "webhook:webhook/default.json.j2" %}'
        '{% block extra %}, "team": {{ "data-eng" }}, "note": {{ data.note }}{% endblock %}',
    )
    notifier = tocsin_make_notifier(
        [hook("https://example.org/hook", max_bytes=10_485_760)],
        notifications={"template_dirs": [str(tmp_path / "tpl")]},
    )
    event = tocsin_hostile_event("job_failed")
    body = notifier.render("hook", event).body
    assert body["schema"] == SCHEMA and body["data"] == event.data
    assert (body["team"], body["note"]) == ("data-eng", event.data["note"])


def test_template_option_picks_a_body_by_name(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    write(tmp_path / "tpl" / "webhook" / "slim.json.j2", '{"event": {{ type }}, "run": {{ data.run_name }}}')
    write(tmp_path / "own" / "bodies" / "put.json.j2", '{"state": {{ severity }}}')
    notifier = tocsin_make_notifier(
        [
            hook(tocsin_http_sink.url, template="slim.json.j2"),
            {
                **hook(tocsin_http_sink.url, template="bodies/put.json.j2", method="PUT"),
                "name": "put",
                "template_dir": str(tmp_path / "own"),
            },
        ],
        notifications={"template_dirs": [str(tmp_path / "tpl")]},
    )
    report = notifier.notify(Event("job_failed", data={"run_name": "nightly"}))
    assert report.ok
    bodies = {
        r.method: standardwebhooks.Webhook(SECRET).verify(r.body, r.headers) for r in tocsin_http_sink.wait_for(2)
    }
    assert bodies == {"POST": {"event": "job_failed", "run": "nightly"}, "PUT": {"state": "failure"}}


def test_a_missing_template_fails_the_target_with_its_name(tocsin_http_sink, tocsin_make_notifier):
    report = tocsin_make_notifier([hook(tocsin_http_sink.url, template="nope.json.j2")]).notify(Event("job_failed"))
    receipt = report["hook"]
    assert receipt.outcome == "failed"
    assert "template 'nope.json.j2' (option template of target 'hook') not found" in receipt.error
    assert "webhook/nope.json.j2" in receipt.error
    assert tocsin_http_sink.requests == []
