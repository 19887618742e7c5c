"""Digest events: many events told as one message ("5 jobs failed in the last 5 minutes").

Noise control (grouping, rate limits, quiet hours) holds events and later sends them as one digest. A
digest is an ordinary :class:`~tocsin.Event` of type ``"digest"``, made by :func:`digest_event`, so every
channel formats it the usual way, through ``<channel>/digest.<part>.j2`` (its own ``default`` when it ships
none). Its ``data`` is plain JSON-safe data (it is stored with the held deliveries)::

    count     how many events the digest stands for
    omitted   how many of them ``events`` leaves out (count - shown)
    reason    "group" | "rate_limit" | "quiet_hours"
    group     {group_by key: value} of a grouped digest ({"type": "job_failed", "data.queue": "gpu"}), else {}
    since     ISO time the window opened, or None;  until: ISO time it closed (also the event's time)
    span      the window in words ("5 minutes"), or None
    counts    {severity: number}, worst first;  types: {event type: number}, most frequent first
    events    the first ``shown`` events, in the order given, each {id, type, title, severity, time, url,
              summary}: title and summary on one line without control characters (title at most 300
              characters, summary 200), url a vetted http(s) link or None

The title says what happened in words, per reason and per mix of types and severities; the severity is
the worst of the events (failure, warning, success, info); the id is derived from the reason and the
events' ids, so the same events digested again give the same id (the outbox sends it once).
Templates get ``digest`` (:func:`digest_view`: the same data, with words to show), ``fields`` saying how
many, why and when (:func:`digest_fields`: Events, Why, Window and the group) and ``description`` listing
the events with their links (:func:`digest_description`), which is what a channel's ``default`` template
shows of a digest when the channel ships no digest template.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .events import Event, Severity
from .presentation import STATUS_MARKS, Field, event_url, format_time
from .text import safe_url, truncate

__all__ = [
    "DIGEST_REASONS",
    "DIGEST_TYPE",
    "digest_description",
    "digest_event",
    "digest_fields",
    "digest_fit",
    "digest_view",
]

#: The event type of every digest.
DIGEST_TYPE = "digest"
#: Why events were held for a digest.
DIGEST_REASONS = ("group", "rate_limit", "quiet_hours")
#: Severities from worst to mildest: a digest takes the first one any of its events has.
SEVERITY_RANK = (Severity.FAILURE, Severity.WARNING, Severity.SUCCESS, Severity.INFO)
TITLE_LIMIT = 300
SUMMARY_LIMIT = 200
DESCRIPTION_LIMIT = 4000

_NAMESPACE = uuid.UUID("5f0c3b52-7a1e-4f43-9d0e-2c6d3f1a9b71")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SEVERITY_NOUNS = {
    Severity.FAILURE: ("failure", "failures"),
    Severity.WARNING: ("warning", "warnings"),
    Severity.SUCCESS: ("success", "successes"),
    Severity.INFO: ("notification", "notifications"),
}
_REASON_TEXT = {"group": "grouped", "rate_limit": "held by the rate limit", "quiet_hours": "held during quiet hours"}
# Event-type endings that read as nouns ("run_failure" → "3 run failures").
_NOUN_ENDINGS = {"failure", "error", "timeout", "login", "start", "end", "warning", "retry", "alert", "check"}


def digest_event(
    events: Sequence[Event],
    *,
    reason: str,
    until: datetime,
    since: datetime | None = None,
    group: Mapping[str, str] | None = None,
    shown: int = 20,
) -> Event:
    """One ``digest`` event standing for ``events`` (at least one), held for ``reason`` until ``until``.

    ``since`` is when the window opened (a group's first event, the start of quiet hours), ``group`` the
    values the events share (``{"type": "job_failed"}``), ``shown`` how many events ``data["events"]``
    lists. Raises ValueError for no events, an unknown reason or a naive datetime.
    """
    if not events:
        raise ValueError("digest_event needs at least one event")
    if reason not in DIGEST_REASONS:
        raise ValueError(f"digest reason must be one of {', '.join(DIGEST_REASONS)}, not {reason!r}")
    until = _aware(until, "until")
    since = None if since is None else _aware(since, "since")
    shown = max(0, int(shown))
    severities = Counter(event.severity for event in events)
    worst = next(s for s in SEVERITY_RANK if severities[s])
    span = _span(since, until)
    data: dict[str, Any] = {
        "count": len(events),
        "omitted": max(0, len(events) - shown),
        "reason": reason,
        "group": {_line(k, 100): _line(v, 200) for k, v in (group or {}).items()},
        "since": None if since is None else _iso(since),
        "until": _iso(until),
        "span": span,
        "counts": {s.value: severities[s] for s in SEVERITY_RANK if severities[s]},
        "types": dict(Counter(event.type for event in events).most_common()),
        "events": [_item(event) for event in events[:shown]],
    }
    ids = ",".join(event.id for event in events)
    return Event(
        type=DIGEST_TYPE,
        title=digest_title(events, reason, span),
        severity=worst,
        data=data,
        source=events[0].source,
        id=str(uuid.uuid5(_NAMESPACE, f"{reason}:{ids}")),
        occurred_at=until,
    )


def digest_title(events: Sequence[Event], reason: str, span: str | None) -> str:
    """``"5 jobs failed in the last 5 minutes"``, ``"12 notifications held during quiet hours"``."""
    count = len(events)
    types = {event.type for event in events}
    severities = Counter(event.severity for event in events)
    verb_form = False
    if len(types) == 1:
        what, verb_form = _type_phrase(next(iter(types)), count)
    elif len(severities) == 1:
        what = _noun(count, next(iter(severities)))
    else:
        what = f"{count} notification" if count == 1 else f"{count} notifications"
    held = "" if verb_form else " held"
    if reason == "quiet_hours":
        title = f"{what}{held} during quiet hours"
    elif reason == "rate_limit":
        title = f"{what} while rate-limited" if verb_form else f"{what}{held} by the rate limit"
    else:
        title = f"{what} in the last {span}" if span else what
    if len(severities) > 1:
        title += f" ({', '.join(_noun(severities[s], s) for s in SEVERITY_RANK if severities[s])})"
    return title


def _type_phrase(event_type: str, count: int) -> tuple[str, bool]:
    """``("5 jobs failed", True)``, ``("3 run failures", False)``, ``("2 scheduler online events", False)``."""
    words = [w for w in event_type.split("_") if w]
    if len(words) >= 2 and (words[-1].endswith("ed") or words[-1] in ("done", "lost", "sent")):
        noun = " ".join(words[:-1])
        return f"{count} {noun if count == 1 else _plural(noun)} {words[-1]}", True
    phrase = " ".join(words)
    if words[-1] in _NOUN_ENDINGS or len(words) == 1:
        return f"{count} {phrase if count == 1 else _plural(phrase)}", False
    return f"{count} {phrase} {'event' if count == 1 else 'events'}", False


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def _span(since: datetime | None, until: datetime) -> str | None:
    """The window in words: ``"30 seconds"``, ``"minute"``, ``"5 minutes"``, ``"2 hours"``, ``"3 days"``."""
    if since is None or until <= since:
        return None
    seconds = (until - since).total_seconds()
    for size, unit, upto in ((1, "second", 60), (60, "minute", 2 * 3600), (3600, "hour", 48 * 3600), (86400, "day", 0)):
        if seconds < upto or not upto:
            number = max(1, round(seconds / size))
            return unit if number == 1 else f"{number} {unit}s"
    return None  # pragma: no cover


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"digest {name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError(f"digest {name} must be timezone-aware (naive datetimes are ambiguous)")
    return value.astimezone(timezone.utc)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _line(value: Any, limit: int) -> str:
    """``value`` on one line, without control or bidi-override characters, at most ``limit`` characters."""
    text = " ".join(_CONTROL.sub(" ", "" if value is None else str(value)).split())
    return truncate(text, limit)


def _summary(event: Event) -> str:
    """A short line about the event: its error's last line, else its message or status, else its subject."""
    data = event.data
    error = data.get("error")
    if isinstance(error, str) and error.strip():
        lines = [line for line in error.strip().splitlines() if line.strip()]
        return _line(lines[-1], SUMMARY_LIMIT)  # a traceback's last line says what failed
    for key in ("message", "description", "status"):
        value = data.get(key)
        if isinstance(value, (str, int, float)) and str(value).strip():
            return _line(value, SUMMARY_LIMIT)
    return _line(event.subject, SUMMARY_LIMIT)


def _item(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "title": _line(event.title, TITLE_LIMIT),
        "severity": event.severity.value,
        "time": _iso(event.occurred_at),
        "url": safe_url(event_url(event)),
        "summary": _summary(event),
    }


def digest_view(event: Event) -> dict[str, Any]:
    """What templates get as ``digest`` for a ``digest`` event: its data, tolerant of missing keys and
    made safe again (a digest can be made by hand), with words added for templates to show as they are:

    ``events`` (each item also has ``mark`` ✅ ❌ ⚠️ ℹ️ and ``when``, its time as ``2026-12-03 20:55:03 UTC``),
    ``reason_text`` ("held during quiet hours"), ``tally`` ("2 failures, 3 successes"), ``window``
    ("2026-12-03 20:55:00 UTC – 2026-12-03 21:00:00 UTC"), ``group_text`` ("type = job_failed").
    """
    data = event.data
    items = []
    for raw in data.get("events") or []:
        if not isinstance(raw, Mapping):
            continue
        severity = _severity(raw.get("severity"))
        time = raw.get("time")
        items.append(
            {
                "id": _line(raw.get("id"), 100),
                "type": _line(raw.get("type"), 100),
                "title": _line(raw.get("title"), TITLE_LIMIT) or _line(raw.get("type"), 100),
                "severity": severity.value,
                "time": time if isinstance(time, str) else None,
                "url": safe_url(raw.get("url")),
                "summary": _line(raw.get("summary"), SUMMARY_LIMIT),
                "mark": STATUS_MARKS[severity],
                "when": _line(format_time(time), 40) if isinstance(time, str) else "",
            }
        )
    count = data.get("count")
    count = count if isinstance(count, int) and count >= len(items) else len(items)
    counts = {k: v for k, v in (data.get("counts") or {}).items() if isinstance(v, int)}
    group = {_line(k, 100): _line(v, 200) for k, v in (data.get("group") or {}).items()}
    since, until = data.get("since"), data.get("until")
    window = f"until {format_time(until)}" if until else ""
    if since and until:
        window = f"{format_time(since)} – {format_time(until)}"
    return {
        "count": count,
        "omitted": count - len(items),
        "reason": data.get("reason"),
        "reason_text": _REASON_TEXT.get(str(data.get("reason")), "digest"),
        "group": group,
        "group_text": " · ".join(f"{k} = {v}" for k, v in group.items()),
        "since": since,
        "until": until,
        "span": data.get("span"),
        "window": _line(window, 100),
        "counts": counts,
        "tally": ", ".join(_noun(counts.get(s.value, 0), s) for s in SEVERITY_RANK if counts.get(s.value)),
        "types": dict(data.get("types") or {}),
        "events": items,
    }


def digest_fit(items: Sequence[Mapping[str, Any]], most: int, budget: int) -> list[Mapping[str, Any]]:
    """The first of ``items`` (at most ``most``) whose title, summary and link fit in ``budget`` characters
    together, counting 40 more for each item's layout; at least one (the ``digest_fit`` template filter).

    A template lists these and says how many more there were, so a platform's size limit never has to cut
    into a listed event (its link would break) or into the "N more" line.
    """
    chosen: list[Mapping[str, Any]] = []
    used = 0
    for item in list(items)[: max(1, most)]:
        size = 40 + sum(len(str(item.get(key) or "")) for key in ("title", "summary", "url"))
        if chosen and used + size > budget:
            break
        chosen.append(item)
        used += size
    return chosen


def digest_description(event: Event) -> str:
    """A digest's events as plain lines (``❌ title — url``), as many as fit in DESCRIPTION_LIMIT characters,
    then ``… and N more``: the ``description`` its templates see."""
    view = digest_view(event)
    lines: list[str] = []
    used = 0
    for item in view["events"]:
        line = f"{item['mark']} {item['title']}" + (f" — {item['url']}" if item["url"] else "")
        if used + len(line) + 1 > DESCRIPTION_LIMIT - 40:
            break
        lines.append(line)
        used += len(line) + 1
    if view["count"] > len(lines):
        lines.append(f"… and {view['count'] - len(lines)} more")
    return "\n".join(lines)


def digest_fields(event: Event) -> list[Field]:
    """A digest's labelled fields (what ``fields`` holds in its templates): Events, Why, Window, the group."""
    view = digest_view(event)
    events = f"{view['count']} ({view['tally']})" if view["tally"] else str(view["count"])
    fields = [Field("count", "Events", events), Field("reason", "Why", view["reason_text"])]
    if view["window"]:
        fields.append(Field("window", "Window", view["window"]))
    for key, value in view["group"].items():
        label = key.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        fields.append(Field(f"group.{key}", label, value))
    return fields


def _severity(value: Any) -> Severity:
    try:
        return Severity(str(value))
    except ValueError:
        return Severity.INFO


def _noun(number: int, severity: Severity) -> str:
    singular, plural = _SEVERITY_NOUNS[severity]
    return f"{number} {singular if number == 1 else plural}"
