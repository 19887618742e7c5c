"""The ``gotify`` channel against a real HTTP server standing in for a Gotify server.

Request shape from gotify.net's API docs and "Message Extras": ``POST <server>/message`` with the
application token in ``X-Gotify-Key`` and ``{"title", "message", "priority", "extras"}``, where
``extras["client::display"]["contentType"]`` is ``text/plain`` or ``text/markdown`` and
``extras["client::notification"]["click"]["url"]`` opens on a tap. Answers: 200 with the stored
message, or ``{"error", "errorCode", "errorDescription"}``.
"""

from __future__ import annotations

import pytest
from tocsin_gotify import MESSAGE_LIMIT, TITLE_LIMIT

from tocsin import ConfigError, Outcome, sample_event
from tocsin.testing import Reply

TOKEN = "AbCdEfGhIjKlMnO"
STORED = Reply(200, {"id": 25, "appid": 5, "message": "…", "title": "…", "priority": 8, "date": "2026-11-24T15:12:03Z"})


def phone(sink, **options):
    return {"name": "phone", "channel": "gotify", "url": sink.url, "token": TOKEN, **options}


def gotify_error(status, error, description):
    return Reply(status, {"error": error, "errorCode": status, "errorDescription": description})


def test_a_failure_rings_with_the_documented_request(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(STORED)
    receipt = tocsin_make_notifier([phone(tocsin_http_sink)]).notify(sample_event("job_failed"))["phone"]

    assert (receipt.outcome, receipt.status_code) == (Outcome.DELIVERED, 200)
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", "/message")
    assert request.header("x-gotify-key") == TOKEN
    assert request.header("content-type").startswith("application/json")
    assert "token" not in request.path  # never in the URL, where proxies log it
    body = request.json()
    assert (body["title"], body["priority"]) == ("Job failed: nightly-etl", 8)
    assert body["message"].startswith("A job ended with an error.\n\nError: Traceback (most recent call last):")
    assert "\nRun: nightly-etl\nStatus: failed\nDuration: 12m 34s\n" in body["message"]
    assert body["extras"] == {
        "client::display": {"contentType": "text/plain"},
        "client::notification": {"click": {"url": "https://example.org/runs/run-0042"}},
    }


def test_priority_follows_the_severity_and_the_priorities_option(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [phone(tocsin_http_sink), {**phone(tocsin_http_sink, priorities={"failure": 10, "info": 0}), "name": "own"}]
    )
    defaults = {
        e: notifier.render("phone", e).body["priority"]
        for e in ("job_failed", "job_held", "job_completed", "user_login")
    }
    assert defaults == {"job_failed": 8, "job_held": 5, "job_completed": 3, "user_login": 1}
    assert notifier.render("own", "job_failed").body["priority"] == 10
    assert notifier.render("own", "user_login").body["priority"] == 0
    assert notifier.render("own", "job_held").body["priority"] == 5  # the default where not given


def test_a_server_under_a_path_and_no_click(tocsin_http_sink, tocsin_make_notifier):
    target = {**phone(tocsin_http_sink, click=False), "url": tocsin_http_sink.url + "/gotify/"}
    tocsin_http_sink.reply(STORED)
    assert tocsin_make_notifier([target]).notify(sample_event("job_completed")).ok
    assert tocsin_http_sink.last.path == "/gotify/message"
    assert tocsin_http_sink.last.json()["extras"] == {"client::display": {"contentType": "text/plain"}}


def test_markdown_is_opt_in_and_escapes_event_text(tocsin_http_sink, tocsin_make_notifier):
    event = sample_event("job_failed", data={"run_name": "**nightly** [x](http://evil.example)", "error": "a ``` b"})
    tocsin_http_sink.reply(STORED)
    assert tocsin_make_notifier([phone(tocsin_http_sink, markdown=True)]).notify(event).ok

    body = tocsin_http_sink.last.json()
    assert body["extras"]["client::display"] == {"contentType": "text/markdown"}
    message = body["message"]
    assert "- **Run:** \\*\\*nightly\\*\\* \\[x\\](http://evil.example)" in message
    assert "**Error**\n```\na `\u200b`\u200b` b\n```" in message  # the error cannot close its block


def test_hostile_data_is_cut_to_the_limits(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    tocsin_http_sink.reply(STORED)
    assert tocsin_make_notifier([phone(tocsin_http_sink)]).notify(tocsin_hostile_event("backup_failed")).ok

    body = tocsin_http_sink.last.json()
    assert len(body["title"]) == TITLE_LIMIT and body["title"].endswith("…")
    assert "\n" not in body["title"] and "\r" not in body["title"]
    assert len(body["message"]) <= MESSAGE_LIMIT
    error = body["message"].split("Error: ", 1)[1]
    assert "\n…\n" in error  # the 1 MB error lost its middle, not its end
    assert body["extras"]["client::notification"]["click"]["url"] == "https://example.org/runs/1?a=1&b=%3C2%3E"


def test_a_cut_never_leaves_a_code_block_open(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "gotify"
    folder.mkdir(parents=True)
    (folder / "default.md.j2").write_text("```\n{{ data.error }}\n```\n")  # a deployment's careless template
    notifier = tocsin_make_notifier(
        [phone(tocsin_http_sink, markdown=True)], notifications={"template_dirs": [str(tmp_path / "notify-templates")]}
    )
    message = notifier.render("phone", sample_event("job_failed", data={"error": "x" * 20_000})).body["message"]
    assert len(message) <= MESSAGE_LIMIT and message.endswith("…\n```") and message.count("```") == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            gotify_error(
                401, "Unauthorized", "you need to provide a valid access token or user credentials to access this api"
            ),
            "HTTP 401: you need to provide a valid access token or user credentials to access this api — check the token",
        ),
        (
            gotify_error(403, "Forbidden", "you are not allowed to access this api"),
            "HTTP 403: you are not allowed to access this api — the token may not send messages",
        ),
        (
            gotify_error(400, "Bad Request", "Field 'message' is required"),
            "HTTP 400: Field 'message' is required — Gotify could not read the message",
        ),
        (Reply(404, "404 page not found"), "HTTP 404: 404 page not found — check the url option"),
    ],
)
def test_error_answers_fail_at_once_in_gotifys_words(tocsin_http_sink, tocsin_make_notifier, reply, expected):
    tocsin_http_sink.reply(reply)
    receipt = tocsin_make_notifier([phone(tocsin_http_sink)]).notify(sample_event("job_failed"))["phone"]
    assert (receipt.outcome, receipt.attempts, len(tocsin_http_sink.requests)) == (Outcome.FAILED, 1, 1)
    assert receipt.error.startswith(expected), receipt.error
    assert TOKEN not in receipt.error


def test_a_200_that_is_not_gotify_is_a_failure(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(200, "<html><body>Please log in</body></html>"))
    receipt = tocsin_make_notifier([phone(tocsin_http_sink)]).notify(sample_event("job_failed"))["phone"]
    assert receipt.outcome is Outcome.FAILED
    assert (
        receipt.error
        == "HTTP 200, but not Gotify's answer (check the url option): <html><body>Please log in</body></html>"
    )


def test_an_outage_and_a_rate_limit_are_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(
        Reply(502, "<html>Bad Gateway</html>"), Reply(429, "", headers={"Retry-After": "0.2"}), STORED
    )
    receipt = tocsin_make_notifier([phone(tocsin_http_sink)]).notify(sample_event("backup_failed"))["phone"]
    assert (receipt.outcome, receipt.attempts) == (Outcome.DELIVERED, 3)
    assert all(r.header("x-gotify-key") == TOKEN for r in tocsin_http_sink.requests)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("url", "https://push.example.org/message", "url: the server's base URL, without /message"),
        ("url", "https://push.example.org/?token=AbC", "url: the server's base URL only, without ?token="),
        ("url", "push.example.org", "url: must be the Gotify server's http(s) base URL"),
        ("token", "CcLiEnTtOkEn.xx", "token: this looks like a client token (C…)"),
        ("priorities", {"failure": 11}, "priorities: failure must be 0 to 10, not 11"),
        ("priorities", {"fatal": 9}, "priorities: unknown severity 'fatal'"),
    ],
)
def test_bad_options_name_file_and_key(tocsin_http_sink, tocsin_make_notifier, key, value, expected):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{**phone(tocsin_http_sink), key: value}])
    assert any(f"tocsin.toml: targets[0].{expected}" in problem for problem in caught.value.problems), caught.value
    assert "CcLiEnTtOkEn" not in str(caught.value)
