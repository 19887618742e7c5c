"""Event data meant to break things: every channel must render it safely (valid JSON, escaped HTML,
no header injection, no mass mentions, no forged links) and deliver it within its platform's limits.

:data:`HOSTILE_STRINGS` are named strings, each aimed at one way of breaking a payload;
:func:`hostile_event` puts them all in one event; :data:`HOSTILE_CORPUS` is the whole corpus the core's
hostile-input suite sends through every installed channel: each entry a function returning a fresh
event (so the 10 MB and 10,000-key entries are built only when used).
"""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..events import Event

__all__ = ["HOSTILE_CORPUS", "HOSTILE_DATA", "HOSTILE_STRINGS", "MEGABYTE", "hostile_event", "nested"]

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
    "nul": "before\x00after\x00\x00",
    "crlf": "one\r\ntwo\r\n\r\nthree",
    "jinja_blocks": "{% for x in range(10**9) %}{{ x }}{% endfor %} {{ config }} {{ ''.__class__ }} {% raw %}",
    "ansi_osc": "\x1b[2J\x1b[H\x1b]0;pwned title\x07\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ \x9b31m",
    "bidi": "invoice\u202egpj.exe \u2066isolate\u2069 \u200fmark",
    "lone_surrogate": "x\ud800y \udfff end",
    "html_entities": "&amp; &lt;b&gt; &#x3C;script&#x3E; &#0;",
    "zero_width": "\u200b\u200c\u200d\ufeff@\u200beveryone",
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


class _Opaque:
    """A custom object with an unhelpful repr, as host applications put in event data."""

    def __repr__(self) -> str:
        return "<Opaque object with </script> and @everyone in its repr>"


def nested(depth: int) -> Any:
    """A list and dict structure ``depth`` levels deep (built without recursion)."""
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"level": value}
    return value


def _big(size: int = 10 * MEGABYTE) -> str:
    return ("0123456789abcdef" * (size // 16 + 1))[:size]


_OBJECTS: dict[str, Any] = {
    "when": datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc),
    "naive": datetime(2026, 12, 3, 12, 0),
    "day": date(2026, 12, 3),
    "span": timedelta(hours=2, minutes=3),
    "amount": decimal.Decimal("12345.678900"),
    "not_a_number": decimal.Decimal("NaN"),
    "blob": b"\x00\xff binary \x1b[31m",
    "tags": {"b", "a"},
    "pair": (1, "two"),
    "complex": 1 + 2j,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "custom": _Opaque(),
    "int_keys": {1: "one", 2.5: "two and a half", None: "none"},
    "huge_int": 10**400,
}

#: The whole corpus: name → a function returning an event that holds it (fresh each call).
HOSTILE_CORPUS: dict[str, Callable[[], Event]] = {
    **{
        f"string:{name}": (
            lambda text=text: Event(
                "job_failed",
                title=text[:500],
                data={"run_name": text, "error": text, "status": text, "last_step": text, "message": text},
                user={"name": text[:200], "email": "user@example.org"},
                source={"instance": text[:200]},
            )
        )
        for name, text in HOSTILE_STRINGS.items()
    },
    "nan_and_infinity": lambda: Event(
        "job_failed",
        data={
            "run_name": "training",
            "loss": float("nan"),
            "duration": float("nan"),
            "size": float("inf"),
            "exit_code": float("-inf"),
            "history": [1.0, float("nan"), float("inf")],
            "nested": {"best": float("-inf")},
        },
    ),
    "ten_megabyte_strings": lambda: Event(
        "job_failed",
        title="T" * (10 * MEGABYTE),
        data={"run_name": _big(), "error": _big(), "message": _big(), "last_step": _big(), "status": _big()},
        user={"name": _big(MEGABYTE)},
        source={"instance": _big(MEGABYTE), "host": _big(MEGABYTE)},
    ),
    "ten_thousand_keys": lambda: Event(
        "job_completed", data={f"key_{i:05d}": f"value {i} @everyone <!channel>" for i in range(10_000)}
    ),
    "odd_objects": lambda: Event("backup_completed", data={"run_name": "objects", **_OBJECTS}),
    "deep_nesting": lambda: Event("job_failed", data={"run_name": "deep", "tree": nested(1_000), "error": "x"}),
    "empty": lambda: Event("job_failed", title=" ", data={"run_name": "", "error": "", "status": None}),
    "everything_at_once": lambda: hostile_event("job_failed"),
}
