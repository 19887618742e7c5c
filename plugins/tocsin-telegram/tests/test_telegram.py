"""What the Bot API receives from the telegram channel: sendMessage requests, HTML, limits, error answers.

A real HTTP server on 127.0.0.1 stands in for api.telegram.org and answers as the Bot API documents:
``{"ok": true, "result": {...}}`` or ``{"ok": false, "error_code": 400, "description": "Bad Request: chat
not found"}``, a 429 with ``parameters.retry_after``, a 400 with ``parameters.migrate_to_chat_id``.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from tocsin_telegram.markup import ALLOWED_TAGS, visible_text

from tocsin import ConfigError, sample_event, utf16_len
from tocsin.testing import Reply

from .conftest import TOKEN, bot, refused


class TagBalance(HTMLParser):
    """Checks the tags of a text the way Telegram's parser would: known tags only, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"unknown tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def assert_telegram_html(text: str) -> None:
    checker = TagBalance()
    checker.feed(text)
    checker.close()
    assert not checker.problems and not checker.stack, (checker.problems, checker.stack)
    assert utf16_len(visible_text(text)) <= 4096


def test_send_message_in_the_documented_shape(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink, message_thread_id=7)])
    receipt = notifier.notify(sample_event("job_failed", data={"run_name": "nightly"}))["tg"]
    assert (str(receipt.outcome), receipt.status_code) == ("delivered", 200)
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert request.header("content-type") == "application/json"
    body = request.json()
    assert (body["chat_id"], body["message_thread_id"], body["parse_mode"]) == (-100123, 7, "HTML")
    assert body["link_preview_options"] == {"is_disabled": True}
    assert body["disable_notification"] is False
    text = body["text"]
    assert text.startswith("❌ <b>Job failed: nightly</b>\nA job ended with an error.\n\n<b>Run:</b> nightly\n")
    assert "<pre>Traceback (most recent call last):\n  File &#34;etl.py&#34;, line 42" in text
    assert text.endswith('<a href="https://example.org/runs/run-0042">Open the run</a> · <i>tocsin-sample</i>')
    assert_telegram_html(text)


def test_a_public_channel_by_username_and_link_previews(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink, chat_id="@nightly_alerts", link_preview=True)])
    assert notifier.notify(sample_event("job_completed")).ok
    body = tocsin_http_sink.last.json()
    assert body["chat_id"] == "@nightly_alerts" and "message_thread_id" not in body
    assert body["link_preview_options"] == {"is_disabled": False}


@pytest.mark.parametrize(
    ("setting", "silent"),
    [
        (["success", "info"], {"job_completed": True, "job_started": True, "job_failed": False}),
        (True, {"job_completed": True, "job_failed": True}),
        (False, {"job_completed": False, "job_failed": False}),
    ],
)
def test_disable_notification_by_severity(tocsin_http_sink, tocsin_make_notifier, setting, silent):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink, disable_notification=setting)])
    for event_type, expected in silent.items():
        notifier.notify(sample_event(event_type))
        assert tocsin_http_sink.last.json()["disable_notification"] is expected, event_type


def test_hostile_text_is_shown_literally_and_cut(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    assert tocsin_make_notifier([bot(tocsin_http_sink)]).notify(tocsin_hostile_event("job_failed")).ok
    text = tocsin_http_sink.last.json()["text"]
    assert_telegram_html(text)
    shown = visible_text(text)
    assert "</script><script>alert('x')</script>" in shown  # event text shows as text, never as markup
    assert "<script" not in text and '<a href="http://evil' not in text
    assert shown.endswith("…") and utf16_len(shown) <= 4096
    tocsin_make_notifier([bot(tocsin_http_sink)]).notify(tocsin_hostile_event("job_failed", title="short"))
    text = tocsin_http_sink.last.json()["text"]
    assert_telegram_html(text)
    assert "<b>Html:</b> &lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;italic&lt;/i&gt; &lt;a href=&#34;http://evil" in text


def test_the_error_keeps_its_start_and_end(tocsin_http_sink, tocsin_make_notifier):
    error = "Traceback (most recent call last):\n" + "  frame\n" * 5000 + "IOError: disk full"
    notifier = tocsin_make_notifier([bot(tocsin_http_sink)])
    assert notifier.notify(sample_event("backup_failed", data={"error": error})).ok
    text = tocsin_http_sink.last.json()["text"]
    block = text[text.index("<pre>") + 5 : text.index("</pre>")]
    assert block.startswith("Traceback") and block.endswith("IOError: disk full") and "\n…\n" in block
    assert len(block) <= 1500


def test_a_deployment_template_cannot_break_the_html(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "tpl" / "telegram"
    folder.mkdir(parents=True)
    (folder / "default.html.j2").write_text(
        '<div><b>{{ title }}</b><br>\n<p onclick="x">{{ data.note }} & more</i>\n<pre>{{ data.log }}</pre>',
        encoding="utf-8",
    )
    notifier = tocsin_make_notifier([bot(tocsin_http_sink)], notifications={"template_dirs": [str(tmp_path / "tpl")]})
    event = sample_event("job_failed", data={"note": "a < b", "log": "line\n" * 2000})
    assert notifier.notify(event).ok
    text = tocsin_http_sink.last.json()["text"]
    assert_telegram_html(text)
    assert text.startswith('&lt;div&gt;<b>Job failed: nightly-etl</b>&lt;br&gt;\n&lt;p onclick="x"&gt;')
    assert "a &lt; b &amp; more&lt;/i&gt;" in text
    assert text.endswith("line\nline\n…</pre>")  # cut inside the block, which still closes


def test_a_wrong_chat_fails_at_once_with_a_hint(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(refused(400, "Bad Request: chat not found"))
    receipt = tocsin_make_notifier([bot(tocsin_http_sink)]).notify(sample_event("job_failed"))["tg"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("failed", 1, 400)
    assert receipt.error == (
        "HTTP 400: Bad Request: chat not found — check the chat_id option, and that the bot was added to the chat"
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (refused(401, "Unauthorized"), "HTTP 401: Unauthorized — check the bot_token option"),
        (refused(404, "Not Found"), "HTTP 404: Not Found — check the bot_token option (the Bot API answers 404"),
        (
            refused(403, "Forbidden: bot is not a member of the channel chat"),
            "HTTP 403: Forbidden: bot is not a member of the channel chat — the bot cannot post there",
        ),
        (
            refused(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1009876),
            "HTTP 400: Bad Request: group chat was upgraded to a supergroup chat — the group is now a supergroup: "
            "set chat_id = -1009876",
        ),
        (refused(400, "Bad Request: message thread not found"), "check the message_thread_id option"),
    ],
)
def test_telegrams_refusals_say_what_to_change(tocsin_http_sink, tocsin_make_notifier, reply, expected):
    tocsin_http_sink.reply(reply)
    receipt = tocsin_make_notifier([bot(tocsin_http_sink)]).notify(sample_event("job_failed"))["tg"]
    assert str(receipt.outcome) == "failed" and receipt.attempts == 1
    assert expected in receipt.error


def test_too_many_requests_waits_for_retry_after(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(refused(429, "Too Many Requests: retry after 1", retry_after=0.3))
    receipt = tocsin_make_notifier([bot(tocsin_http_sink)]).notify(sample_event("job_failed"))["tg"]
    assert (str(receipt.outcome), receipt.attempts) == ("delivered", 2)
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.25  # parameters.retry_after, not the ms backoff
    assert "retry after" not in (receipt.error or "")


def test_an_ok_false_answer_is_a_failure(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(200, {"ok": False, "description": "Bad Request: message text is empty"}))
    receipt = tocsin_make_notifier([bot(tocsin_http_sink)]).notify(sample_event("job_failed"))["tg"]
    assert str(receipt.outcome) == "failed"
    assert receipt.error == "Telegram: Bad Request: message text is empty"


def test_the_token_never_shows_even_when_quoted_back(tocsin_http_sink, tocsin_make_notifier, caplog):
    tocsin_http_sink.reply(refused(502, f"Bad Gateway for /bot{TOKEN}/sendMessage"), refused(400, f"bad {TOKEN}"))
    receipt = tocsin_make_notifier([bot(tocsin_http_sink)]).notify(sample_event("job_failed"))["tg"]
    assert str(receipt.outcome) == "failed" and receipt.attempts == 2
    secret_part = TOKEN.split(":")[1]
    assert secret_part not in receipt.error and secret_part not in caplog.text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"chat_id": "alerts"}, "targets[0].chat_id: expected a chat's numeric id"),
        ({"bot_token": "AAH-no-bot-id"}, "targets[0].bot_token: expected the token @BotFather gave"),
        ({"disable_notification": ["failures"]}, "targets[0].disable_notification: true, false, or a list"),
        ({"message_thread_id": 0}, "targets[0].message_thread_id: must be a topic's positive id"),
    ],
)
def test_bad_options_name_file_and_key(tocsin_http_sink, tocsin_make_notifier, options, expected):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([bot(tocsin_http_sink, **options)])
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems
    assert all("AAH-no-bot-id" not in problem for problem in caught.value.problems)
