"""What a Discord webhook receives: the embed, the options, mentions, and the limits with hostile data.

A real HTTP server on 127.0.0.1 stands in for Discord; every check reads the JSON it received.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from tocsin import Event, sample_event

ZWSP = "\u200b"
ROLE = "123456789012345678"
USER = "876543210987654321"


def discord_target(sink, **options):
    return {"name": "team-discord", "channel": "discord", "url": f"{sink.url}/api/webhooks/42/s3cr3t-t0ken", **options}


def u16(text: str) -> int:
    """Characters as Discord's clients count them (UTF-16 units); never less than code points."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def limit_violations(body: dict) -> list[str]:
    """Every documented Discord limit the payload breaks (written independently of the plugin)."""
    problems = []
    if u16(body.get("content") or "") > 2000:
        problems.append("content > 2000")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds > 10")
    total = 0
    for i, embed in enumerate(embeds):
        texts = {
            "title": (embed.get("title") or "", 256),
            "description": (embed.get("description") or "", 4096),
            "footer": ((embed.get("footer") or {}).get("text") or "", 2048),
            "author": ((embed.get("author") or {}).get("name") or "", 256),
        }
        for name, (text, limit) in texts.items():
            total += u16(text)
            if u16(text) > limit:
                problems.append(f"embeds[{i}].{name} {u16(text)} > {limit}")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"embeds[{i}] has {len(fields)} fields > 25")
        for j, field in enumerate(fields):
            if not field["name"].strip() or not field["value"].strip():
                problems.append(f"embeds[{i}].fields[{j}] is blank")
            if u16(field["name"]) > 256:
                problems.append(f"embeds[{i}].fields[{j}].name > 256")
            if u16(field["value"]) > 1024:
                problems.append(f"embeds[{i}].fields[{j}].value > 1024")
            total += u16(field["name"]) + u16(field["value"])
    if total > 6000:
        problems.append(f"embed text total {total} > 6000")
    return problems


def all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


def send(tocsin_make_notifier, sink, event, **options):
    notifier = tocsin_make_notifier([discord_target(sink, **options)], source={"instance": "prod-scheduler"})
    report = notifier.notify(event)
    assert report.ok, report["team-discord"].summary()
    return sink.last


def test_failed_job_is_one_red_embed_with_fields_error_link_footer_and_time(tocsin_make_notifier, tocsin_http_sink):
    event = sample_event(
        "job_failed",
        source={"instance": "prod-scheduler"},
        occurred_at=datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc),
    )
    request = send(tocsin_make_notifier, tocsin_http_sink, event)

    assert request.method == "POST"
    url = urlsplit(request.path)
    assert url.path == "/api/webhooks/42/s3cr3t-t0ken"
    assert parse_qs(url.query) == {"wait": ["true"]}
    assert request.header("content-type") == "application/json"
    body = request.json()
    assert body["allowed_mentions"] == {"parse": []}
    assert body["content"] == "❌ Job failed: nightly-etl"
    [embed] = body["embeds"]
    assert embed["title"] == "❌ Job failed: nightly-etl"
    assert embed["color"] == 0xE01E5A
    assert embed["url"] == "https://example.org/runs/run-0042"
    assert embed["footer"] == {"text": "prod-scheduler"}
    assert embed["timestamp"] == "2026-03-04T05:06:07Z"
    assert embed["description"].endswith(
        '```\nTraceback (most recent call last):\n  File "etl.py", line 42, in load\nIOError: disk full\n```'
    )
    fields = {f["name"]: f for f in embed["fields"]}
    for name, value in [("Run", "nightly-etl"), ("Status", "failed"), ("Duration", "12m 34s"), ("Size", "1.5 GiB"),
                        ("Last step", "load: write partitions"), ("Exit code", "1")]:  # fmt: skip
        assert fields[name]["value"] == value
        assert fields[name]["inline"] is True
    assert "username" not in body and "avatar_url" not in body
    assert limit_violations(body) == []


@pytest.mark.parametrize(
    ("event_type", "colour", "mark"),
    [
        ("job_completed", 0x2EB67D, "✅"),  # success: green
        ("job_failed", 0xE01E5A, "❌"),  # failure: red
        ("job_cancelled", 0xECB22E, "⚠️"),  # warning: amber
        ("job_started", 0x5865F2, "ℹ️"),  # info: blurple
    ],
)
def test_colour_and_mark_follow_severity(tocsin_make_notifier, tocsin_http_sink, event_type, colour, mark):
    body = send(tocsin_make_notifier, tocsin_http_sink, sample_event(event_type)).json()
    assert body["embeds"][0]["color"] == colour
    assert body["embeds"][0]["title"].startswith(mark + " ")


def test_username_avatar_and_thread_id(tocsin_make_notifier, tocsin_http_sink):
    request = send(
        tocsin_make_notifier,
        tocsin_http_sink,
        sample_event("job_completed"),
        username="Nightly jobs",
        avatar_url="https://example.org/bot.png",
        thread_id="1122334455667788990",
    )
    assert parse_qs(urlsplit(request.path).query) == {"wait": ["true"], "thread_id": ["1122334455667788990"]}
    body = request.json()
    assert body["username"] == "Nightly jobs"
    assert body["avatar_url"] == "https://example.org/bot.png"


def test_thread_id_may_be_a_toml_integer(tocsin_make_notifier, tocsin_http_sink):
    request = send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_completed"), thread_id=1122334455667788990)
    assert parse_qs(urlsplit(request.path).query)["thread_id"] == ["1122334455667788990"]


def test_content_off_sends_the_embed_alone(tocsin_make_notifier, tocsin_http_sink):
    body = send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_failed"), content=False).json()
    assert "content" not in body
    assert len(body["embeds"]) == 1
    assert body["allowed_mentions"] == {"parse": []}


def test_role_mention_pings_on_failure_only(tocsin_make_notifier, tocsin_http_sink):
    notifier = tocsin_make_notifier([discord_target(tocsin_http_sink, mention=f"role:{ROLE}")])
    assert notifier.notify(sample_event("job_failed")).ok
    failed = tocsin_http_sink.last.json()
    assert failed["content"] == f"<@&{ROLE}> ❌ Job failed: nightly-etl"
    assert failed["allowed_mentions"] == {"parse": [], "roles": [ROLE]}

    assert notifier.notify(sample_event("job_completed")).ok
    completed = tocsin_http_sink.last.json()
    assert "<@" not in completed["content"]
    assert completed["allowed_mentions"] == {"parse": []}


def test_user_mention_in_discord_syntax_with_content_off_and_mention_when(tocsin_make_notifier, tocsin_http_sink):
    notifier = tocsin_make_notifier(
        [discord_target(tocsin_http_sink, mention=f"<@{USER}>", content=False, mention_when=["failure", "warning"])]
    )
    assert notifier.notify(sample_event("job_cancelled")).ok
    body = tocsin_http_sink.last.json()
    assert body["content"] == f"<@{USER}>"  # the ping needs content; nothing else is added
    assert body["allowed_mentions"] == {"parse": [], "users": [USER]}


def test_hostile_failure_stays_within_every_limit_and_pings_nobody(
    tocsin_make_notifier, tocsin_http_sink, tocsin_hostile_event
):
    event = tocsin_hostile_event("job_failed")
    body = send(tocsin_make_notifier, tocsin_http_sink, event).json()

    assert limit_violations(body) == []
    assert body["allowed_mentions"] == {"parse": []}
    for text in all_strings(body):
        assert not re.search(r"@(everyone|here)", text, re.IGNORECASE), text[:200]
    [embed] = body["embeds"]
    # The 5000-character title is cut with a visible marker; the content line too.
    assert embed["title"].endswith("…") and u16(embed["title"]) == 256
    # 1 MB of error: one code block, closed, its middle cut with a marker, its start and end kept.
    description = embed["description"]
    assert description.count("```") == 2 and description.endswith("\n```")
    assert "\n…\n" in description
    assert "</script><script>alert('x')</script>" in description  # shown as text, not interpreted
    assert description.rstrip("`\n").endswith("EEEE")
    # 55 data fields: 24 shown and one saying how many were left out.
    fields = embed["fields"]
    assert len(fields) == 25
    assert fields[-1]["name"] == "…" and re.fullmatch(r"\d+ more fields not shown", fields[-1]["value"])
    values = {f["name"]: f["value"] for f in fields}
    # A masked link in event data cannot become a link: its brackets are escaped.
    assert "\\[click me\\](http://evil.example)" in values["Last step"]
    assert "](http://evil.example)" not in values["Last step"].replace("\\]", "")
    # Role/user mention syntax is escaped too, and JSON-breaking text arrives as text.
    assert "\\<@&123456789>" in values["Run"]
    assert values["Status"] == '"}\\],"injected":true,"x":\\[{"'
    assert "injected" not in body
    # The link is still a valid URL, its unsafe characters encoded.
    assert embed["url"] == "https://example.org/runs/1?a=1&b=%3C2%3E"
    assert embed["footer"]["text"] == '<b>bold</b> & <i>italic</i> <a href="http://evil.example">click</a>'


@pytest.mark.parametrize("event_type", ["job_completed", "queue_finished", "backup_failed", "user_login"])
def test_hostile_data_in_every_template_stays_within_limits(
    tocsin_make_notifier, tocsin_http_sink, tocsin_hostile_event, event_type
):
    body = send(tocsin_make_notifier, tocsin_http_sink, tocsin_hostile_event(event_type), mention=f"role:{ROLE}").json()
    assert limit_violations(body) == []
    for text in all_strings(body):
        assert not re.search(r"@(everyone|here)", text, re.IGNORECASE)
    assert set(body["allowed_mentions"]) <= {"parse", "roles"} and body["allowed_mentions"]["parse"] == []


def test_non_bmp_text_counts_as_discord_counts_it(tocsin_make_notifier, tocsin_http_sink):
    event = Event("job_completed", title="🎉" * 300, data={"run_name": "𝔘" * 2000, "note": "漢字 rtl \u202eevil"})
    body = send(tocsin_make_notifier, tocsin_http_sink, event).json()
    assert limit_violations(body) == []
    embed = body["embeds"][0]
    assert embed["title"].startswith("✅ 🎉🎉") and embed["title"].endswith("…")
    values = {f["name"]: f["value"] for f in embed["fields"]}
    assert values["Run"].endswith("…") and 1022 <= u16(values["Run"]) <= 1024  # a pair is never split
    assert values["Note"] == "漢字 rtl \u202eevil"


def test_many_long_fields_are_cut_to_the_6000_total(tocsin_make_notifier, tocsin_http_sink):
    data = {f"field_{i:02d}": "v" * 2000 for i in range(30)}
    body = send(tocsin_make_notifier, tocsin_http_sink, Event("job_completed", data=data)).json()
    assert limit_violations(body) == []
    fields = body["embeds"][0]["fields"]
    assert fields[-1]["name"] == "…" and fields[-1]["value"].endswith("more fields not shown")
    assert all(f["value"].endswith("…") for f in fields[:-1])


def test_error_with_code_fences_cannot_escape_its_block(tocsin_make_notifier, tocsin_http_sink):
    error = "boom ```\n@everyone **bold** [x](http://evil.example)\n``` after ````` end"
    body = send(tocsin_make_notifier, tocsin_http_sink, sample_event("job_failed", data={"error": error})).json()
    description = body["embeds"][0]["description"]
    block = description[description.index("```") :]
    assert block.startswith("```\n") and block.endswith("\n```")
    assert block.count("```") == 2  # only the block's own fences
    assert block[4:-4].replace(ZWSP, "") == error  # the text is all there, its backtick runs broken
    assert "@" + ZWSP + "everyone" in block


def test_content_and_embed_title_are_one_line(tocsin_make_notifier, tocsin_http_sink):
    # Before: a title with CR/LF (from the data) kept them in the one-line content and the embed title.
    event = Event("job_failed", title="Backup failed:\r\nnas\n\n@everyone  twice", data={"run_name": "x\ny"})
    body = send(tocsin_make_notifier, tocsin_http_sink, event).json()
    for text in (body["content"], body["embeds"][0]["title"]):
        assert "\n" not in text and "\r" not in text, text
    assert body["embeds"][0]["title"].endswith("Backup failed: nas @\u200beveryone twice")
