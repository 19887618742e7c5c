"""Event data meant to break things: every channel must render it safely (valid JSON, escaped HTML,
no header injection, no mass mentions, no forged links)."""

from __future__ import annotations

from typing import Any

from ..events import Event

__all__ = ["HOSTILE_DATA", "HOSTILE_STRINGS", "MEGABYTE", "hostile_event"]

MEGABYTE = 1024 * 1024

#: Named hostile strings, each aimed at one way of breaking a payload.
HOSTILE_STRINGS: dict[str, str] = {
    "quotes": "he said \"hi\" and 'bye' \\ back\\slash",
    "newlines": "line one\nline two\r\nline three\rend",
    "crlf_header": "Subject-ish\r\nBcc: victim@example.org\r\nX-Injected: yes",
    "script": "</script><script>alert('x')</script><img src=x onerror=alert(1)>",
    "html": '<b>bold</b> & <i>italic</i> <a href="http://evil.example">click</a>',
    "everyone": "@everyone @here <@&123456789> <@123456789> wake up",
    "slack_mentions": "<!channel> <!here> <!everyone> <@U024BE7LH>",
    "slack_link": "<http://evil.example|click here> and <https://evil.example>",
    "markdown_link": "[click me](http://evil.example) ![img](http://evil.example/x.png)",
    "json_breaker": '"}],"injected":true,"x":[{"',
    "jinja": "{{ 7*7 }} {% raw %} ${ENV} $(rm -rf /)",
    "non_bmp": "emoji 🎉🔥💾 math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 cjk 漢字 rtl \u202eevil",
    "control": "nul\x00bell\x07esc\x1b[31mred\x1b[0m tab\tend",
    "long_line": "x" * 10_000,
}

#: Data for a hostile event: every standard field holds something nasty, the error is 1 MB.
HOSTILE_DATA: dict[str, Any] = {
    "run_name": HOSTILE_STRINGS["everyone"] + " " + HOSTILE_STRINGS["slack_mentions"],
    "job_name": HOSTILE_STRINGS["script"],
    "status": HOSTILE_STRINGS["json_breaker"],
    "last_step": HOSTILE_STRINGS["slack_link"] + " " + HOSTILE_STRINGS["markdown_link"],
    "queue": HOSTILE_STRINGS["crlf_header"],
    "run_id": HOSTILE_STRINGS["quotes"],
    "duration": 3725,
    "size": 10**12,
    "error": (HOSTILE_STRINGS["script"] + "\n" + HOSTILE_STRINGS["newlines"] + "\n") + "E" * MEGABYTE,
    "run_url": "https://example.org/runs/1?a=1&b=<2>",
    "note": HOSTILE_STRINGS["non_bmp"],
    "control": HOSTILE_STRINGS["control"],
    "html": HOSTILE_STRINGS["html"],
    "jinja": HOSTILE_STRINGS["jinja"],
    **{f"extra_field_{i:02d}": f"value {i} " + HOSTILE_STRINGS["everyone"] for i in range(40)},
}


def hostile_event(event_type: str = "job_failed", **overrides: Any) -> Event:
    """An event of ``event_type`` whose title, user and data are all hostile."""
    fields: dict[str, Any] = {
        "title": HOSTILE_STRINGS["crlf_header"]
        + " "
        + HOSTILE_STRINGS["everyone"]
        + " "
        + HOSTILE_STRINGS["script"]
        + " "
        + "T" * 5000,
        "data": dict(HOSTILE_DATA),
        "user": {"name": HOSTILE_STRINGS["crlf_header"], "email": "user@example.org"},
        "source": {"instance": HOSTILE_STRINGS["html"], "url": "https://example.org/?x=<y>"},
    }
    fields.update(overrides)
    return Event(type=event_type, **fields)
