"""Block Kit limits hold whatever a template renders: cut with a visible mark, never rejected."""

from __future__ import annotations

import re

from tocsin_slack.limits import BLOCKS_TEXT_BUDGET, cut, enforce_limits, units, violations
from tocsin_slack.mrkdwn import code, escape, link

from tocsin import sample_event


def over_limit_body():
    return {
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "H" * 500}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "S" * 5000}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"field {i} " + "F" * 2500} for i in range(15)]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"c{i}"} for i in range(14)]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "B" * 100},
                        "url": "https://x.example/ok",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "too long"},
                        "url": "https://x/" + "u" * 3000,
                    },
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": ""}},
            *({"type": "divider"} for _ in range(60)),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "the last line"}]},
        ]
    }


def test_every_block_kit_limit_is_enforced_with_a_visible_mark():
    body = over_limit_body()
    assert len(violations(body)) > 8

    enforce_limits(body, fallback="fallback text")

    assert violations(body) == []
    blocks = body["blocks"]
    assert len(blocks) == 50
    header = blocks[0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    section = blocks[1]["text"]["text"]
    assert len(section) <= 3000 and section.endswith("…")
    fields = blocks[2]["fields"]
    assert len(fields) == 10
    assert fields[-1]["text"] == "… 6 more fields"  # 9 kept + the count of the rest
    assert all(len(f["text"]) <= 2000 for f in fields)
    context = blocks[3]["elements"]
    assert len(context) == 10 and context[-1]["text"] == "… 5 more items"
    (button,) = blocks[4]["elements"]  # the button whose URL is over 3000 is dropped, not cut
    assert button["url"] == "https://x.example/ok"
    assert len(button["text"]["text"]) == 75 and button["text"]["text"].endswith("…")
    assert blocks[5]["text"]["text"] == "—"  # Slack needs at least one character
    assert "more blocks left out" in blocks[-3]["elements"][0]["text"]
    assert blocks[-1]["elements"][0]["text"] == "the last line"  # the end of the message survives
    assert body["text"] == "fallback text"  # set whenever blocks are
    total = sum(units(t) for t in _texts(blocks))
    assert total <= BLOCKS_TEXT_BUDGET


def _texts(obj):
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn"):
            yield obj["text"]
        else:
            for value in obj.values():
                yield from _texts(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _texts(value)


def test_cuts_never_break_entities_tokens_or_code_blocks():
    escaped = escape("a & b " * 100)
    for limit in range(90, 110):
        cut_text = cut(escaped, limit)
        assert cut_text.endswith("…") and len(cut_text) <= limit
        assert re.findall(r"&(?!amp;)", cut_text) == []  # never a half entity like "&am…"

    linked = "see " + link("https://example.org/runs/1", "the run") + " now"
    assert cut(linked, 12) == "see …"  # the link token is dropped whole, not left open

    fenced = "*Error*\n```" + code("x" * 5000) + "```"
    cut_fenced = cut(fenced, 3000)
    assert len(cut_fenced) <= 3000
    assert cut_fenced.endswith("…```") and cut_fenced.count("```") == 2


def test_lengths_count_utf16_units_like_slack():
    emoji = "🎉" * 100  # 200 UTF-16 units
    cut_emoji = cut(emoji, 150)
    assert units(cut_emoji) <= 150
    assert cut_emoji.endswith("…") and "\ufffd" not in cut_emoji


def test_escaping_neutralises_mentions_links_and_fences():
    assert escape("<!channel> & <http://evil|click>") == "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;"
    assert escape("nul\x00esc\x1b[0m\r\nnext") == "nulesc[0m\nnext"
    fenced = code("a ``` b")
    assert "```" not in fenced
    assert (
        link("https://example.org/a?b=1&c=<2>|x", "<!here>")
        == "<https://example.org/a?b=1&amp;c=%3C2%3E%7Cx|&lt;!here&gt;>"
    )
    assert link("javascript:alert(1)", "label") == "label"


def test_an_override_that_renders_too_much_is_still_sent_within_limits(
    tocsin_http_sink, tocsin_make_notifier, tmp_path
):
    override = tmp_path / "notify-templates" / "slack"
    override.mkdir(parents=True)
    (override / "job_failed.json.j2").write_text(
        """{
  "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": {{ title ~ ("!" * 400) }}}}
{% for i in range(70) %}
    ,{"type": "section", "text": {"type": "mrkdwn", "text": {{ ("block %d " | format(i)) ~ ("z" * 4000) }}}}
{% endfor %}
  ]
}
""",
        encoding="utf-8",
    )
    notifier = tocsin_make_notifier(
        [{"name": "team-slack", "channel": "slack", "url": tocsin_http_sink.url + "/hook"}],
        notifications={"template_dirs": [str(tmp_path / "notify-templates")]},
    )

    report = notifier.notify(sample_event("job_failed"))

    assert report.ok, report["team-slack"].error
    body = tocsin_http_sink.last.json()
    assert violations(body) == []
    assert len(body["blocks"]) == 50
    assert body["text"] == "❌ Job failed: nightly-etl"  # the override left it out; Slack needs it
