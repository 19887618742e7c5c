"""The ``mattermost`` channel against a real HTTP server standing in for a Mattermost incoming webhook.

Request shape from developers.mattermost.com "Incoming webhooks" and "Message attachments": a JSON POST
to /hooks/<key> with text, channel, username, icon_url and attachments (fallback, color, title,
title_link, text, fields of title/value/short, footer). Answers: 200 "ok", or an AppError JSON.
"""

from __future__ import annotations

import pytest
from tocsin_mattermost.limits import LIMITS, POST_TEXT, violations
from tocsin_mattermost.markdown import ZWSP

from tocsin import Outcome, sample_event
from tocsin.presentation import event_fields
from tocsin.testing import Reply

HOOK = "/hooks/xq7fm3kzsbn8x8j5mdaexamplekey"


def mattermost(sink, **options):
    return {"name": "team-chat", "channel": "mattermost", "url": sink.url + HOOK, **options}


def app_error(status, error_id, message):
    return {"id": error_id, "message": message, "detailed_error": "", "request_id": "kd8x4", "status_code": status}


def test_the_webhook_receives_the_documented_post(tocsin_http_sink, tocsin_make_notifier):
    target = mattermost(
        tocsin_http_sink, channel_name="ops-alerts", username="tocsin", icon_url="https://example.org/bell.png"
    )
    report = tocsin_make_notifier([target]).notify(sample_event("job_failed"))

    receipt = report["team-chat"]
    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", HOOK)
    assert request.header("content-type").startswith("application/json")
    body = request.json()
    assert violations(body) == []
    assert body["text"] == "❌ **Job failed: nightly-etl**"
    assert (body["channel"], body["username"], body["icon_url"]) == (
        "ops-alerts",
        "tocsin",
        "https://example.org/bell.png",
    )
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#E01E5A"  # failure red
    assert attachment["fallback"] == "❌ Job failed: nightly-etl"  # plain text, for notifications
    assert (attachment["title"], attachment["title_link"]) == ("Open run", "https://example.org/runs/run-0042")
    assert attachment["text"].startswith("A job ended with an error.\n\n**Error**\n```\nTraceback (most recent")
    assert attachment["text"].endswith("IOError: disk full\n```")
    fields = {field["title"]: field for field in attachment["fields"]}
    assert fields["Duration"] == {"title": "Duration", "value": "12m 34s", "short": True}
    assert fields["Size"]["value"] == "1.5 GiB"
    assert attachment["footer"].startswith("failure · job_failed · tocsin-sample · ")


def test_colours_follow_the_severity(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([mattermost(tocsin_http_sink)])
    colours = {}
    for event_type in ("job_completed", "job_failed", "job_held", "user_login"):
        message = notifier.render("team-chat", sample_event(event_type))
        colours[message.severity] = message.body["attachments"][0]["color"]
    assert colours == {"success": "#2EB67D", "failure": "#E01E5A", "warning": "#ECB22E", "info": "#5865F2"}


def test_hostile_data_can_neither_mention_nor_link_nor_format(
    tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event
):
    event = tocsin_hostile_event("job_failed")
    assert tocsin_make_notifier([mattermost(tocsin_http_sink)]).notify(event).ok

    body = tocsin_http_sink.last.json()
    assert violations(body) == []
    (attachment,) = body["attachments"]
    fields = {field["title"]: field["value"] for field in attachment["fields"]}
    # Mentions get a zero-width space; Slack tokens, which the server turns into @channel, lose their <>.
    assert fields["Run"].startswith(f"@{ZWSP}everyone @{ZWSP}here \\<@&123456789\\> \\<@{ZWSP}123456789\\>")
    assert f"\\<!channel\\> \\<!here\\> \\<!everyone\\> \\<@{ZWSP}U024BE7LH\\>" in fields["Run"]
    assert "\\<http://evil.example\\|click here\\>" in fields["Last step"]
    assert "\\[click me\\](http://evil.example) !\\[img\\](http://evil.example/x.png)" in fields["Last step"]
    assert fields["Job"] == "\\</script\\>\\<script\\>alert('x')\\</script\\>\\<img src=x onerror=alert(1)\\>"
    assert "\x00" not in fields["Control"] and "\x1b" not in fields["Control"]
    # The 1 MB error lost its middle inside a closed code block; the limits held.
    text = attachment["text"]
    assert text.count("```") == 2 and text.endswith("EEEE\n```") and "\n…\n" in text
    assert len(text) <= LIMITS["text"]
    # 52 fields: 24 kept, the rest counted.
    assert len(attachment["fields"]) == LIMITS["fields"]
    assert attachment["fields"][-1]["value"] == f"… {len(event_fields(event)) - 24} more fields"
    assert body["text"].endswith("…**") and "@everyone" not in body["text"]
    assert "<!" not in attachment["fallback"].replace("<" + ZWSP, "")


def test_a_deployment_template_cannot_break_the_post_limit(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "mattermost"
    folder.mkdir(parents=True)
    (folder / "default.json.j2").write_text(
        '{"text": {{ "```\\n" ~ (error | string) }}, "attachments": [{"fallback": {{ error | string }}, '
        '"text": {{ error | string }}, "footer": {{ error | string }}, "fields": '
        '[{% for i in range(40) %}{"title": "f{{ i }}", "value": {{ error | string }}, "short": false}'
        "{% if not loop.last %},{% endif %}{% endfor %}]}]}"
    )
    notifier = tocsin_make_notifier(
        [mattermost(tocsin_http_sink)], notifications={"template_dirs": [str(tmp_path / "notify-templates")]}
    )
    event = sample_event("job_failed", data={"error": "x" * 200_000})
    assert notifier.notify(event).ok

    body = tocsin_http_sink.last.json()
    assert violations(body) == []
    assert len(body["text"]) == POST_TEXT and body["text"].endswith("…\n```")  # the open block is closed
    (attachment,) = body["attachments"]
    assert len(attachment["text"]) == LIMITS["text"] and attachment["text"].endswith("…")
    assert len(attachment["footer"]) == LIMITS["footer"]
    assert len(attachment["fields"]) == LIMITS["fields"]
    assert len(tocsin_http_sink.last.body) < 200_000


@pytest.mark.parametrize(
    ("status", "error_id", "message", "hint"),
    [
        (400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.", "webhook URL is wrong"),
        (404, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.", "no channel with this"),
        (
            403,
            "web.incoming_webhook.channel_locked.app_error",
            "This webhook is not permitted to post to the requested channel.",
            "remove channel_name",
        ),
        (400, "web.incoming_webhook.text.app_error", "No text specified.", "has no text"),
        (
            501,
            "web.incoming_webhook.disabled.app_error",
            "Incoming webhooks have been disabled by the system admin.",
            "disabled incoming webhooks",
        ),
    ],
)
def test_error_answers_fail_at_once_in_mattermosts_words(
    tocsin_http_sink, tocsin_make_notifier, status, error_id, message, hint
):
    tocsin_http_sink.reply(Reply(status, app_error(status, error_id, message)))
    receipt = tocsin_make_notifier([mattermost(tocsin_http_sink, channel_name="ops")]).notify(
        sample_event("job_failed")
    )["team-chat"]

    assert receipt.outcome is Outcome.FAILED
    assert (receipt.attempts, receipt.status_code, len(tocsin_http_sink.requests)) == (1, status, 1)
    assert receipt.error.startswith(f"HTTP {status}: {message} ({error_id}) — ")
    assert hint in receipt.error
    assert "examplekey" not in receipt.error


def test_rate_limit_and_outage_are_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(
        Reply(429, app_error(429, "api.context.429.app_error", "Too many requests."), headers={"Retry-After": "0.2"}),
        Reply(503, "<html>maintenance</html>"),
        Reply(200, "ok"),
    )
    receipt = tocsin_make_notifier([mattermost(tocsin_http_sink)]).notify(sample_event("backup_failed"))["team-chat"]
    assert (receipt.outcome, receipt.attempts) == (Outcome.DELIVERED, 3)
    first, second, third = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.18
    assert first.json() == third.json()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("url", "ftp://chat.example.org/hooks/x", "tocsin.toml: targets[0].url: must be an http(s) URL"),
        ("channel_name", "Town Square", "tocsin.toml: targets[0].channel_name: the channel's handle"),
        ("icon_url", "bell.png", "tocsin.toml: targets[0].icon_url: must be an http(s) URL"),
    ],
)
def test_bad_options_name_file_and_key(tocsin_http_sink, tocsin_make_notifier, key, value, expected):
    from tocsin import ConfigError

    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{**mattermost(tocsin_http_sink), key: value}])
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems
