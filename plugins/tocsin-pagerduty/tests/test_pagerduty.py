"""What PagerDuty's Events API v2 receives: alert and change events, dedup keys, limits, error answers.

A real HTTP server on 127.0.0.1 stands in for events.pagerduty.com and answers as PagerDuty documents
(202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}``, 400 ``{"status":
"invalid event", "message": "Event object is invalid", "errors": [...]}``, 429 without a body).
"""

from __future__ import annotations

import json

import pytest

from tocsin import ConfigError, sample_event
from tocsin.testing import Reply

KEY = "R0123456789abcdef0123456789ABCDE"
ACCEPTED = Reply(202, {"status": "success", "message": "Event processed", "dedup_key": "x"})
INVALID_KEY = {
    "status": "invalid event",
    "message": "Event object is invalid",
    "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"],
}
SOURCE = {"instance": "prod-scheduler", "url": "https://scheduler.example.org", "host": "sched-01"}


def sample(event_type, **kwargs):
    """A sample event from the instance the tests' config names (sample events come from tocsin-sample)."""
    return sample_event(event_type, source=SOURCE, **kwargs)


def oncall(sink, **options):
    sink.default = ACCEPTED
    return {"name": "oncall", "channel": "pagerduty", "api_url": sink.url, "routing_key": KEY, **options}


def test_a_failure_triggers_an_alert_in_the_documented_shape(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink)], source=SOURCE)
    event = sample("job_failed", data={"run_id": "r-17", "run_name": "nightly"})
    receipt = notifier.notify(event)["oncall"]
    assert (str(receipt.outcome), receipt.status_code, receipt.attempts) == ("delivered", 202, 1)
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.header("content-type") == "application/json"
    body = request.json()
    assert body["routing_key"] == KEY
    assert (body["event_action"], body["dedup_key"]) == ("trigger", "prod-scheduler:r-17")
    payload = body["payload"]
    assert payload["summary"] == "Job failed: nightly"
    assert (payload["severity"], payload["source"], payload["class"]) == ("error", "prod-scheduler", "job_failed")
    assert payload["component"] == "nightly"
    assert payload["timestamp"].startswith(event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S"))
    details = payload["custom_details"]
    assert details["Run"] == "nightly" and details["Duration"] == "12m 34s" and details["Event ID"] == event.id
    assert details["Error"].endswith("IOError: disk full")
    assert body["links"][0] == {"href": "https://example.org/runs/run-0042", "text": "Open the run"}
    assert (body["client"], body["client_url"]) == ("prod-scheduler", "https://scheduler.example.org")


def test_the_same_runs_success_resolves_the_alert(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink)], source=SOURCE)
    notifier.notify(sample("backup_failed", data={"run_id": "r-17"}))
    assert notifier.notify(sample("backup_completed", data={"run_id": "r-17"})).ok
    trigger, resolve = (r.json() for r in tocsin_http_sink.requests)
    assert trigger["event_action"] == "trigger"
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": trigger["dedup_key"]}
    assert tocsin_http_sink.last.path == "/v2/enqueue"


def test_warning_is_a_low_severity_alert_and_info_a_change_event(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink)], source=SOURCE)
    notifier.notify(sample("job_cancelled"))
    warning = tocsin_http_sink.last.json()
    assert (warning["event_action"], warning["payload"]["severity"]) == ("trigger", "warning")
    notifier.notify(sample("job_started", data={"run_name": "nightly"}))
    change = tocsin_http_sink.last
    assert change.path == "/v2/change/enqueue"
    body = change.json()
    assert set(body) == {"routing_key", "payload", "links"}
    assert set(body["payload"]) == {"summary", "source", "timestamp", "custom_details"}
    assert body["payload"]["summary"] == "Job started: nightly"


def test_actions_and_severities_are_options(tocsin_http_sink, tocsin_make_notifier):
    options = {"actions": {"info": "trigger", "success": "change"}, "severities": {"failure": "critical"}}
    options.update(source="etl-cluster", component="loader", group="prod-datapipe")
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink, **options)], source=SOURCE)
    notifier.notify(sample("job_failed"))
    payload = tocsin_http_sink.last.json()["payload"]
    assert payload["severity"] == "critical"
    assert (payload["source"], payload["component"], payload["group"]) == ("etl-cluster", "loader", "prod-datapipe")
    notifier.notify(sample("user_login"))
    assert tocsin_http_sink.last.json()["payload"]["severity"] == "info"
    notifier.notify(sample("job_completed"))
    assert tocsin_http_sink.last.path == "/v2/change/enqueue"


def test_a_deployment_keys_alerts_by_job_so_the_next_run_resolves(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "pagerduty"
    folder.mkdir(parents=True)
    (folder / "default.dedup_key.j2").write_text("{{ source.instance }}:{{ data.job_name }}\n", encoding="utf-8")
    notifier = tocsin_make_notifier(
        [oncall(tocsin_http_sink)], source=SOURCE, notifications={"template_dirs": [str(tmp_path / "notify-templates")]}
    )
    notifier.notify(sample("job_failed", data={"job_name": "backup-db", "run_id": "r-41"}))
    notifier.notify(sample("job_completed", data={"job_name": "backup-db", "run_id": "r-42"}))
    keys = [r.json()["dedup_key"] for r in tocsin_http_sink.requests]
    assert keys == ["prod-scheduler:backup-db", "prod-scheduler:backup-db"]


def test_long_dedup_keys_stay_within_255_and_apart(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink)], source=SOURCE)
    first = notifier.render("oncall", sample("job_failed", data={"run_id": "r" * 400 + "1"})).body
    second = notifier.render("oncall", sample("job_failed", data={"run_id": "r" * 400 + "2"})).body
    assert len(first["dedup_key"]) == len(second["dedup_key"]) == 255
    assert first["dedup_key"] != second["dedup_key"]
    assert first["dedup_key"].startswith("prod-scheduler:rrrr")


def test_hostile_data_keeps_every_limit(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink)])
    for event_type in ("job_failed", "job_started"):
        receipt = notifier.notify(tocsin_hostile_event(event_type))["oncall"]
        assert str(receipt.outcome) == "delivered", receipt.error
        request = tocsin_http_sink.last
        assert len(request.body) <= 512 * 1024
        body = request.json()
        summary = body["payload"]["summary"]
        assert len(summary) <= 1024 and summary.endswith("…")
        assert "\n" not in summary and "\r" not in summary
        assert body["payload"]["source"] == '<b>bold</b> & <i>italic</i> <a href="http://evil.example">click</a>'
        assert "injected" not in body and "injected" not in body["payload"]
        assert all(link["href"].startswith("https://") for link in body["links"])
        assert "https://example.org/runs/1?a=1&b=%3C2%3E" in [link["href"] for link in body["links"]]
    error = tocsin_http_sink.requests[0].json()["payload"]["custom_details"]["Error"]
    assert error.startswith("</script>") and error.endswith("…") and len(error) <= 8192


def test_a_huge_custom_template_is_cut_to_512_kb(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "tpl" / "pagerduty"
    folder.mkdir(parents=True)
    (folder / "default.json.j2").write_text(
        '{"payload": {"summary": {{ title }}, "custom_details": {"all": {{ data | json }}, '
        '"more": {{ [data.error] * 5 }}}}}',
        encoding="utf-8",
    )
    notifier = tocsin_make_notifier(
        [oncall(tocsin_http_sink)], notifications={"template_dirs": [str(tmp_path / "tpl")]}
    )
    event = sample("job_failed", data={"error": "E" * 300_000})
    assert notifier.notify(event).ok
    body = tocsin_http_sink.last.json()
    assert len(tocsin_http_sink.last.body) <= 512 * 1024
    assert body["payload"]["custom_details"]["more"][0].endswith("…")
    assert body["payload"]["source"] == "tocsin"  # required for an alert: filled when a template leaves it out


def test_a_400_keeps_pagerdutys_errors(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(400, INVALID_KEY))
    receipt = tocsin_make_notifier([oncall(tocsin_http_sink)]).notify(sample("job_failed"))["oncall"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("failed", 1, 400)
    assert receipt.error == (
        "HTTP 400: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)"
        " — check the routing_key option (an Events API V2 integration key)"
    )


def test_a_400_that_quotes_the_routing_key_does_not_show_it(tocsin_http_sink, tocsin_make_notifier, caplog):
    echo = {**INVALID_KEY, "errors": [f"routing_key {KEY} is not known"]}
    tocsin_http_sink.reply(Reply(400, echo))
    receipt = tocsin_make_notifier([oncall(tocsin_http_sink)]).notify(sample("job_failed"))["oncall"]
    assert "is not known" in receipt.error and KEY not in receipt.error and KEY not in caplog.text


def test_429_and_outages_are_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(429, headers={"Retry-After": "0.1"}), Reply(502, "<html>Bad Gateway</html>"))
    receipt = tocsin_make_notifier([oncall(tocsin_http_sink)]).notify(sample("job_failed"))["oncall"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("delivered", 3, 202)
    keys = {r.json()["dedup_key"] for r in tocsin_http_sink.requests}
    assert len(keys) == 1  # every attempt is the same event: PagerDuty de-duplicates on the key


def test_the_eu_endpoint_is_a_base_url(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink, api_url=tocsin_http_sink.url + "/eu/")])
    assert notifier.notify(sample("job_failed")).ok
    assert tocsin_http_sink.last.path == "/eu/v2/enqueue"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"routing_key": "abc"}, "targets[0].routing_key: must be the 32-character integration key"),
        ({"actions": {"failed": "trigger"}}, "targets[0].actions: unknown severity 'failed'"),
        ({"severities": {"failure": "sev1"}}, "targets[0].severities: failure must be one of critical"),
        ({"api_url": "events.pagerduty.com"}, "targets[0].api_url: must start with https:// or http://"),
    ],
)
def test_bad_options_name_file_and_key(tocsin_http_sink, tocsin_make_notifier, options, expected):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([oncall(tocsin_http_sink, **options)])
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_the_message_holds_no_routing_key(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([oncall(tocsin_http_sink)])
    for event_type in ("job_failed", "job_completed", "job_started"):
        assert KEY not in json.dumps(notifier.render("oncall", event_type).to_dict())
