"""The Web API (chat.postMessage) against a real HTTP server: ``slack-api``, and ``slack`` with a token."""

from __future__ import annotations

import pytest
from tocsin_slack.limits import violations

from tocsin import ConfigError, Outcome, sample_event
from tocsin.testing import Reply

TOKEN = "xoxb-1111-2222-SeCrEtBoTtOkEn"
OK = Reply(200, {"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"})


def api_target(sink, channel="slack-api", **extra):
    return {
        "name": "ops-slack",
        "channel": channel,
        "rate_limit": "off",  # these tests send several messages in a second: no noise control
        "token": TOKEN,
        "channel_id": "C0123456789",
        "api_url": sink.url + "/api/chat.postMessage",
        **extra,
    }


@pytest.mark.parametrize("channel", ["slack-api", "slack"])
def test_posts_to_chat_postmessage_with_the_bot_token(tocsin_http_sink, tocsin_make_notifier, channel):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink, channel=channel, icon_emoji=":rotating_light:")])
    tocsin_http_sink.reply(OK)

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert (receipt.attempts, receipt.status_code) == (1, 200)
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", "/api/chat.postMessage")
    assert request.header("authorization") == f"Bearer {TOKEN}"
    assert request.header("content-type") == "application/json; charset=utf-8"
    body = request.json()
    assert body["channel"] == "C0123456789"
    assert body["icon_emoji"] == ":rotating_light:"
    assert TOKEN not in request.text  # the token travels in the header only
    assert body["blocks"][0]["text"]["text"] == "❌ Job failed: nightly-etl"
    assert body["text"].startswith("❌ Job failed: nightly-etl")  # set whenever blocks are
    assert violations(body) == []


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("channel_not_found", "check the ID"),
        ("invalid_auth", "token is invalid"),
        ("not_in_channel", "invite it"),
        ("is_archived", "archived"),
        ("token_revoked", "reinstall"),
    ],
)
def test_ok_false_is_a_permanent_failure_carrying_slacks_error(tocsin_http_sink, tocsin_make_notifier, error, hint):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(200, {"ok": False, "error": error}))

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1
    assert f"Slack API error {error}" in receipt.error
    assert hint in receipt.error
    assert TOKEN not in receipt.error and "SeCrEt" not in receipt.error
    assert len(tocsin_http_sink.requests) == 1


def test_ok_false_details_are_kept(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink)])
    tocsin_http_sink.reply(
        Reply(200, {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "users:read"}),
    )

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert "missing_scope" in receipt.error and "needed: chat:write" in receipt.error

    tocsin_http_sink.reply(
        Reply(
            200,
            {
                "ok": False,
                "error": "invalid_blocks",
                "response_metadata": {
                    "messages": ["[ERROR] must be less than 151 characters [json-pointer:/blocks/0]"]
                },
            },
        )
    )
    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]
    assert "invalid_blocks" in receipt.error and "must be less than 151 characters" in receipt.error


def test_ratelimited_ok_false_honours_retry_after(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(200, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "0.3"}), OK)

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.28


def test_http_429_ratelimited_honours_retry_after(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "0.25"}), OK)

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.23


def test_endless_ratelimiting_gives_up_after_max_retries(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink, max_retries=2)])
    limited = Reply(200, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "0.05"})
    tocsin_http_sink.reply(limited, limited, limited, OK)

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 3
    assert "ratelimited" in receipt.error and "gave up after 3 attempts" in receipt.error


def test_an_answer_that_is_not_slack_json_fails(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(200, "<html>proxy login</html>"))

    receipt = notifier.notify(sample_event("job_failed"))["ops-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert "not Slack JSON" in receipt.error and "api_url" in receipt.error


def test_secrets_stay_out_of_reprs_and_rendered_messages(tocsin_make_notifier):
    notifier = tocsin_make_notifier([api_target_for_config()])
    target = notifier.target("ops-slack")

    message = notifier.render("ops-slack", "job_failed")

    assert TOKEN not in repr(target) and TOKEN not in str(message.to_dict())
    assert message.body["channel"] == "C0123456789"


def api_target_for_config(**extra):
    return {
        "name": "ops-slack",
        "channel": "slack-api",
        "token": TOKEN,
        "channel_id": "C0123456789",
        "rate_limit": "off",  # these tests send several messages in a second: no noise control
        **extra,
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"channel": "slack"}, "targets[0].url: required (an incoming webhook URL); or give token and channel_id"),
        (
            {"channel": "slack", "url": "https://hooks.slack.com/services/T/B/X", "token": TOKEN},
            "targets[0].url: give either url (an incoming webhook) or token (the Web API), not both",
        ),
        ({"channel": "slack", "token": TOKEN}, "targets[0].channel_id: required with token"),
        (
            {"channel": "slack", "url": "https://hooks.slack.com/services/T/B/X", "channel_id": "C0123456789"},
            "targets[0].channel_id: only used with token",
        ),
        ({"channel": "slack-api", "token": TOKEN}, "targets[0].channel_id: required"),
        ({"channel": "slack-api", "channel_id": "C0123456789"}, "targets[0].token: required"),
        (
            {"channel": "slack-api", "token": TOKEN, "channel_id": "#ops team"},
            "targets[0].channel_id: expected a channel ID like C0123456789",
        ),
        (
            {"channel": "slack", "url": "ftp://hooks.example/SeCrEtPath"},
            "targets[0].url: must be an https:// URL",
        ),
        (
            {"channel": "slack-api", "token": TOKEN, "channel_id": "C1", "icon_emoji": "siren"},
            "targets[0].icon_emoji: write it with colons",
        ),
    ],
)
def test_config_mistakes_are_named_by_key(tocsin_make_notifier, target, expected):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{"name": "chat", **target}])

    text = str(caught.value)
    assert expected in text
    assert TOKEN not in text and "SeCrEtPath" not in text
