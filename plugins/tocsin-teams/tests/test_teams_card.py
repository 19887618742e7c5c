"""The cards Teams receives: shape, colours, escaping of hostile data, size limits, the legacy format.

Every card here is the request body a real HTTP server on 127.0.0.1 received (or, for option errors,
what loading a real config file says).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tocsin_teams import teams_escape

from tocsin import ConfigError, Event, Outcome, sample_event
from tocsin.testing import HOSTILE_STRINGS
from tocsin.testing.hostile import MEGABYTE

ADAPTIVE = "application/vnd.microsoft.card.adaptive"
SECRET = "sig=SuperSecretSignature123"
STYLES = {"success": "good", "failure": "attention", "warning": "warning", "info": "accent"}


def teams_target(sink: Any, name: str = "teams", **options: Any) -> dict[str, Any]:
    url = f"{sink.url}/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&{SECRET}"
    return {"name": name, "channel": "teams", "url": url, **options}


def send(tocsin_make_notifier: Any, sink: Any, event: Event, **options: Any) -> dict[str, Any]:
    """Deliver ``event`` to a teams target pointing at ``sink``; return the JSON the sink received."""
    notifier = tocsin_make_notifier([teams_target(sink, **options)], source={"instance": "sched-01"})
    receipt = notifier.notify(event)["teams"]
    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    return sink.last.json()


def card_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card inside a Workflows payload, after checking the envelope and required fields."""
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == ADAPTIVE
    assert "contentUrl" in attachment and attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["version"] == "1.4"
    assert isinstance(card["body"], list) and card["body"]
    return card


def elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every element of a card body, containers' items included."""
    for element in node:
        yield element
        yield from elements(element.get("items", []))


def markdown_texts(card: dict[str, Any]) -> Iterator[str]:
    """Every text Teams renders as Markdown: TextBlock text, Fact title and value."""
    for element in elements(card["body"]):
        if element["type"] == "TextBlock":
            yield element["text"]
        if element["type"] == "FactSet":
            for fact in element["facts"]:
                yield fact["title"]
                yield fact["value"]


def unescaped(text: str) -> str:
    """``text`` without its backslash escapes: what is left is what Markdown would act on."""
    return re.sub(r"\\.", "", text, flags=re.S)


def facts(card: dict[str, Any]) -> dict[str, str]:
    (factset,) = [e for e in elements(card["body"]) if e["type"] == "FactSet"]
    return {fact["title"]: fact["value"] for fact in factset["facts"]}


def monospace_text(card: dict[str, Any]) -> str:
    (block,) = [e for e in elements(card["body"]) if e.get("fontType") == "Monospace"]
    return block["text"]


# -- the default card --------------------------------------------------------------------------------


def test_default_card_has_title_facts_monospace_error_link_and_footer(tocsin_http_sink, tocsin_make_notifier):
    payload = send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_failed"))
    card = card_of(payload)
    header = card["body"][0]
    assert header["type"] == "Container" and header["style"] == "attention"
    assert header["items"][0]["text"] == "❌ Job failed: nightly-etl"
    shown = facts(card)
    assert shown["Run"] == "nightly-etl" and shown["Duration"] == "12m 34s" and shown["Exit code"] == "1"
    error = monospace_text(card)
    assert "IOError: disk full" in error and "\n\n" in error  # one paragraph per line: Teams shows the breaks
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "View details", "url": "https://example.org/runs/run-0042"}
    ]
    footer = card["body"][-1]
    assert footer["isSubtle"] and "tocsin-sample" in footer["text"] and "UTC" in footer["text"]
    assert card["msteams"] == {"width": "Full"}
    assert tocsin_http_sink.last.header("content-type") == "application/json; charset=utf-8"
    assert SECRET not in tocsin_http_sink.last.text  # the URL is where it goes, never what it says


@pytest.mark.parametrize("event_type", ["job_completed", "job_failed", "job_cancelled", "job_started"])
def test_colour_follows_severity(tocsin_http_sink, tocsin_make_notifier, event_type):
    event = sample_event(event_type)
    card = card_of(send(tocsin_make_notifier, tocsin_http_sink, event))
    style = STYLES[event.severity.value]
    header = card["body"][0]
    assert header["style"] == style
    assert header["items"][1]["color"] == style
    assert header["items"][1]["text"].startswith(event.severity.value.upper())


def test_success_without_error_or_url_has_no_error_block_and_no_button(tocsin_http_sink, tocsin_make_notifier):
    card = card_of(
        send(
            tocsin_make_notifier, tocsin_http_sink, Event("backup_completed", data={"backup_name": "db", "size": 2048})
        )
    )
    assert not [e for e in elements(card["body"]) if e.get("fontType") == "Monospace"]
    assert "actions" not in card
    assert facts(card) == {"Backup": "db", "Size": "2.0 KiB"}


def test_full_width_can_be_turned_off(tocsin_http_sink, tocsin_make_notifier):
    card = card_of(send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_completed"), full_width=False))
    assert "msteams" not in card


# -- hostile and long data ---------------------------------------------------------------------------


def test_hostile_event_gives_a_valid_escaped_card_under_the_limit(
    tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event
):
    payload = send(tocsin_make_notifier, tocsin_http_sink, tocsin_hostile_event("job_failed"))
    card = card_of(payload)
    assert len(tocsin_http_sink.last.body) <= 20_000  # the default max_bytes, under Teams' ~28 KB
    for text in markdown_texts(card):
        left = unescaped(text)
        # no link, image, emphasis, code, autolink or HTML can start from event data
        assert not set(left) & set("[]()<>*_`~"), text
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", text), text
    joined = "\n".join(markdown_texts(card))
    assert "[click me](http://evil.example)" not in joined and "\\[click me\\]\\(http://evil.example\\)" in joined
    assert "<at>" not in joined and "entities" not in card["msteams"]  # nobody is mentioned by event data
    assert "🎉🔥💾" in joined and "𝔘𝔫𝔦𝔠𝔬𝔡𝔢" in joined  # non-BMP text arrives intact
    shown = facts(card)
    assert len(shown) == 20 and shown["More"].endswith("more fields not shown")
    error = monospace_text(card)
    assert "characters cut" in error and len(error) < 3_000  # the 1 MB error, cut in the middle
    assert error.startswith("\\</script\\>") and error.rstrip().endswith("E")
    assert card["actions"][0]["url"] == "https://example.org/runs/1?a=1&b=%3C2%3E"
    assert "\\<b\\>bold\\</b\\>" in card["body"][-1]["text"]  # the instance label, escaped in the footer


def test_markdown_in_data_shows_as_typed(tocsin_http_sink, tocsin_make_notifier):
    data = {
        "run_name": "**bold** _it_ `code` ~~gone~~",
        "status": "- not a list",
        "last_step": "1. not numbered",
        "error": "# not a heading\n> not a quote\n  indented",
    }
    card = card_of(send(tocsin_make_notifier, tocsin_http_sink, Event("job_failed", data=data)))
    shown = facts(card)
    assert shown["Run"] == "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\~\\~gone\\~\\~"
    assert shown["Status"] == "\\- not a list"
    assert shown["Last step"] == "1\\. not numbered"
    lines = monospace_text(card).split("\n\n")
    assert lines == ["\\# not a heading", "\\> not a quote", "\u00a0\u00a0indented"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("[click](http://evil.example)", "\\[click\\]\\(http://evil.example\\)"),
        ("![x](http://evil.example/x.png)", "!\\[x\\]\\(http://evil.example/x.png\\)"),
        ("<at>Boss</at> hi", "\\<at\\>Boss\\</at\\> hi"),
        ("a\\b", "a\\\\b"),
        ("1.5 GiB, -5, #tag", "1.5 GiB, -5, #tag"),
        ("tab\there\r\nnew line", "tab here new line"),
        ("\u202egnp.exe \x1b[31mred\x1b[0m \x00", "gnp.exe red"),
    ],
)
def test_teams_escape(raw, shown):
    assert teams_escape(raw) == shown


def test_teams_escape_html_for_messagecards():
    assert teams_escape('<a href="http://evil">x</a> & [y](z)', html=True) == (
        '&lt;a href="http://evil"&gt;x&lt;/a&gt; &amp; \\[y\\]\\(z\\)'
    )


def test_long_data_is_cut_with_a_mark_to_a_small_max_bytes(tocsin_http_sink, tocsin_make_notifier):
    data = {
        "run_name": "r" * 5_000,
        "description": "d" * 5_000,
        "error": "\n".join(f"line {i} " + "x" * 200 for i in range(500)),
        **{f"field_{i:02d}": f"{i} " + "v" * 1_000 for i in range(30)},
    }
    card = card_of(send(tocsin_make_notifier, tocsin_http_sink, Event("job_failed", data=data), max_bytes=6_000))
    assert len(tocsin_http_sink.last.body) <= 6_000
    texts = list(markdown_texts(card))
    assert any(text.endswith("…") for text in texts)
    error = monospace_text(card)
    assert "characters cut" in error and error.rstrip().endswith("x")  # the last line survives the cut
    assert facts(card)["More"] == "12 more fields not shown"


def test_a_one_megabyte_url_is_dropped_not_sent(tocsin_http_sink, tocsin_make_notifier):
    event = Event("job_failed", data={"run_url": "https://example.org/" + "a" * MEGABYTE})
    card = card_of(send(tocsin_make_notifier, tocsin_http_sink, event))
    assert "actions" not in card and len(tocsin_http_sink.last.body) < 5_000


# -- mentions --------------------------------------------------------------------------------------------


def test_mentions_ping_people_on_failures_only(tocsin_http_sink, tocsin_make_notifier):
    options = {"mentions": ["Ann Lee <ann@contoso.com>", "87d349ed-44d7-43e1-9a83-5f2406dee5bd"]}
    failed = card_of(send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_failed"), **options))
    assert failed["msteams"]["entities"] == [
        {"type": "mention", "text": "<at>Ann Lee</at>", "mentioned": {"id": "ann@contoso.com", "name": "Ann Lee"}},
        {
            "type": "mention",
            "text": "<at>87d349ed-44d7-43e1-9a83-5f2406dee5bd</at>",
            "mentioned": {
                "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
                "name": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
            },
        },
    ]
    texts = list(markdown_texts(failed))
    assert "<at>Ann Lee</at> <at>87d349ed-44d7-43e1-9a83-5f2406dee5bd</at>" in texts
    completed = card_of(send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_completed"), **options))
    assert "entities" not in completed["msteams"]
    assert not any("<at>" in text for text in markdown_texts(completed))


def test_mention_when_widens_who_gets_pinged(tocsin_http_sink, tocsin_make_notifier):
    card = card_of(
        send(
            tocsin_make_notifier,
            tocsin_http_sink,
            sample_event("job_cancelled"),
            mentions=["ops@contoso.com"],
            mention_when=["failure", "warning"],
        )
    )
    assert card["msteams"]["entities"][0]["mentioned"]["id"] == "ops@contoso.com"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "ftp://x"}, "targets[0].url: must be an http:// or https:// URL"),
        ({"format": "adaptiv"}, "targets[0].format: must be one of 'adaptive', 'messagecard'"),
        ({"max_bytes": 100}, "targets[0].max_bytes: must be between 4096 and 1000000"),
        ({"mention_when": ["panic"]}, "targets[0].mention_when: 'panic' is not a severity"),
        ({"mentions": ["Ann <a b>"]}, "targets[0].mentions: entry 1: 'Ann <a b>' is not a user principal name"),
        ({"format": "messagecard", "mentions": ["a@b.c"]}, 'targets[0].mentions: only format = "adaptive"'),
    ],
)
def test_bad_options_are_named_in_the_config_error(tocsin_http_sink, tocsin_make_notifier, options, message):
    with pytest.raises(ConfigError) as info:
        tocsin_make_notifier([{**teams_target(tocsin_http_sink), **options}])
    assert message in str(info.value)
    assert SECRET not in str(info.value)


# -- legacy MessageCard ----------------------------------------------------------------------------------


def test_messagecard_format(tocsin_http_sink, tocsin_make_notifier):
    card = send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_failed"), format="messagecard")
    assert card["@type"] == "MessageCard" and card["@context"] == "https://schema.org/extensions"
    assert card["themeColor"] == "E01E5A"
    assert card["summary"] == "❌ Job failed: nightly-etl"
    first, error, footer = card["sections"]
    assert {"name": "Run", "value": "nightly-etl"} in first["facts"]
    assert error["title"] == "Error" and "IOError: disk full" in error["text"]
    assert "tocsin-sample" in footer["text"]
    assert card["potentialAction"] == [
        {
            "@type": "OpenUri",
            "name": "View details",
            "targets": [{"os": "default", "uri": "https://example.org/runs/run-0042"}],
        }
    ]


def test_messagecard_with_hostile_data_is_escaped_and_small(
    tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event
):
    card = send(tocsin_make_notifier, tocsin_http_sink, tocsin_hostile_event("job_failed"), format="messagecard")
    assert card["@type"] == "MessageCard" and card["summary"]
    assert len(tocsin_http_sink.last.body) <= 20_000
    texts = [card["title"], *(s.get("text", "") for s in card["sections"])]
    texts += [part for fact in card["sections"][0]["facts"] for part in (fact["name"], fact["value"])]
    for text in texts:
        left = unescaped(text)
        assert not set(left) & set("[]()<>*_`~"), text  # no Markdown and no HTML tag
    assert "&lt;a href=" in "".join(texts) and HOSTILE_STRINGS["html"] not in "".join(texts)
