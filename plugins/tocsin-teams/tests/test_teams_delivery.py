"""Teams' answers, from a real HTTP server on 127.0.0.1: what counts as delivered, what is retried,
and which words of Teams' error reach the report (never the webhook URL)."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin import Outcome, sample_event
from tocsin.testing import Reply

SECRET = "sig=SuperSecretSignature123"


def notify(tocsin_make_notifier: Any, sink: Any, event_type: str = "job_failed", **options: Any) -> Any:
    url = f"{sink.url}/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&{SECRET}"
    target = {"name": "teams", "channel": "teams", "url": url, **options}
    return tocsin_make_notifier([target]).notify(sample_event(event_type))["teams"]


@pytest.mark.parametrize("status", [200, 202])
def test_200_and_202_are_delivered(tocsin_http_sink, tocsin_make_notifier, status):
    tocsin_http_sink.reply(Reply(status, b""))
    receipt = notify(tocsin_make_notifier, tocsin_http_sink)
    assert receipt.outcome is Outcome.DELIVERED
    assert (receipt.attempts, receipt.status_code) == (1, status)
    assert tocsin_http_sink.last.method == "POST"
    assert (
        tocsin_http_sink.last.path == f"/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&{SECRET}"
    )


def test_workflows_json_error_is_permanent_and_keeps_code_and_message(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(
        Reply(
            400,
            {
                "error": {
                    "code": "TriggerInputSchemaMismatch",
                    "message": "The input body for trigger 'manual' of type 'Request' did not match its schema.",
                }
            },
        )
    )
    receipt = notify(tocsin_make_notifier, tocsin_http_sink)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert receipt.error.startswith("HTTP 400: TriggerInputSchemaMismatch: The input body for trigger 'manual'")
    assert len(tocsin_http_sink.requests) == 1


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (
            404,
            {"error": {"code": "WorkflowNotFound", "message": "The workflow 'abc123' could not be found."}},
            ["HTTP 404: WorkflowNotFound", "no longer exists, or the URL is wrong"],
        ),
        (
            401,
            {"error": {"code": "DirectApiAuthorizationRequired", "message": "The request must be authenticated."}},
            ["HTTP 401: DirectApiAuthorizationRequired", "including its sig= parameter"],
        ),
        (413, "Request Entity too large", ["HTTP 413: Request Entity too large", "lower this target's max_bytes"]),
        (400, "Summary or Text is required.", ["HTTP 400: Summary or Text is required."]),
    ],
)
def test_error_answers_keep_teams_words_and_add_a_hint(tocsin_http_sink, tocsin_make_notifier, status, body, words):
    tocsin_http_sink.reply(Reply(status, body))
    receipt = notify(tocsin_make_notifier, tocsin_http_sink)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1 and receipt.status_code == status
    for word in words:
        assert word in receipt.error
    assert "SuperSecretSignature123" not in receipt.error


def test_throttled_workflow_is_retried_after_retry_after(tocsin_http_sink, tocsin_make_notifier):
    throttled = {"error": {"code": "WorkflowTriggerIsThrottled", "message": "Flow run timed out or throttled."}}
    tocsin_http_sink.reply(Reply(429, throttled, headers={"Retry-After": "0.3"}), Reply(202, b""))
    receipt = notify(tocsin_make_notifier, tocsin_http_sink)
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2 and receipt.status_code == 202
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.25
    assert first.body == second.body  # the same card, sent again


def test_server_errors_are_retried_then_reported(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.default = Reply(502, {"error": {"code": "BadGateway", "message": "upstream failed"}})
    receipt = notify(tocsin_make_notifier, tocsin_http_sink, max_retries=2)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 3
    assert "HTTP 502: BadGateway: upstream failed" in receipt.error and "gave up after 3 attempts" in receipt.error


def test_legacy_connector_error_inside_a_200_is_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(
        Reply(
            200,
            "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 "
            "with ContextId tenantId=1,workflowId=2",
        ),
        Reply(200, "1"),
    )
    receipt = notify(tocsin_make_notifier, tocsin_http_sink, format="messagecard")
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2
    assert tocsin_http_sink.last.json()["@type"] == "MessageCard"


def test_legacy_connector_permanent_error_inside_a_200_fails(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(200, "Microsoft Teams endpoint returned HTTP error 400 with ContextId x"))
    receipt = notify(tocsin_make_notifier, tocsin_http_sink, format="messagecard")
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1 and receipt.status_code == 400
    assert "Teams reported HTTP 400: Microsoft Teams endpoint returned HTTP error 400" in receipt.error


def test_connection_refused_is_retried_and_reported_without_the_url(tocsin_make_notifier):
    target = {"name": "teams", "channel": "teams", "url": f"http://127.0.0.1:9/workflows/x?{SECRET}", "max_retries": 1}
    receipt = tocsin_make_notifier([target]).notify(sample_event("job_failed"))["teams"]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2
    assert "could not connect" in receipt.error and "SuperSecretSignature123" not in receipt.error
