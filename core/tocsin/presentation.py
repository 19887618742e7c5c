"""How event data reads to a person: field labels, durations, sizes, status marks and colours.

Every channel's templates get the same view of an event (see :func:`template_context`), so a job looks
the same on Discord, Slack, Teams and email: the same fields, in the same order, with the same labels.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .events import Event, Severity
from .text import number_text, truncate

if TYPE_CHECKING:
    from .config import Target

__all__ = [
    "SEVERITY_COLORS",
    "STATUS_MARKS",
    "Field",
    "event_fields",
    "event_url",
    "event_view",
    "format_duration",
    "format_size",
    "template_context",
    "truncate",
]

#: A mark for each severity, for titles in plain text and chat.
STATUS_MARKS = {Severity.SUCCESS: "✅", Severity.FAILURE: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
#: Hex colours (no ``#``) for each severity: green, red, amber, blurple.
SEVERITY_COLORS = {
    Severity.SUCCESS: "2EB67D",
    Severity.FAILURE: "E01E5A",
    Severity.WARNING: "ECB22E",
    Severity.INFO: "5865F2",
}

# (data key, label, formatter): the standard fields, in the order every channel shows them.
_FIELD_ORDER: tuple[tuple[str, str, str], ...] = (
    ("job_name", "Job", "text"),
    ("run_name", "Run", "text"),
    ("backup_name", "Backup", "text"),
    ("queue", "Queue", "text"),
    ("status", "Status", "text"),
    ("duration", "Duration", "duration"),
    ("size", "Size", "size"),
    ("last_step", "Last step", "text"),
    ("exit_code", "Exit code", "text"),
    ("started_at", "Started", "time"),
    ("finished_at", "Finished", "time"),
    ("created_at", "Created", "time"),
    ("run_id", "Run ID", "text"),
    ("job_id", "Job ID", "text"),
)
#: What every channel's templates get at most, whatever the data: the fields shown (one more says how
#: many were left out), each field's value, the title and the description, in characters. Channels cut
#: further to their platform's limits; ``data`` and ``error`` are passed as they are.
MAX_FIELDS = 100
FIELD_VALUE_LIMIT = 2_000
TITLE_LIMIT = 2_000
DESCRIPTION_LIMIT = 10_000
#: Characters of each part of the event's ``user`` and ``source`` (names, host, URL).
PART_LIMIT = 500
_NOT_FIELDS = {"error", "url", "run_url", "dataset_url", "traceback", "title", "message", "description"}
_URL_KEYS = ("run_url", "url", "dataset_url", "dashboard_url")


@attrs.frozen
class Field:
    """One labelled value shown in a message: ``Field("duration", "Duration", "12m 34s")``."""

    key: str
    label: str
    value: str


def format_duration(seconds: Any) -> str:
    """``3725`` → ``"1h 02m 05s"``; ``42.5`` → ``"42.5s"``; strings are kept as they are; NaN and
    ±Infinity read ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    if isinstance(seconds, str):
        try:
            seconds = float(seconds)
        except ValueError:
            return seconds
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return text_of(seconds)
    if isinstance(seconds, float) and not math.isfinite(seconds):
        return number_text(seconds)
    if seconds < 60:
        return f"{seconds:g}s" if seconds == int(seconds) else f"{seconds:.1f}s"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s"


def format_size(size: Any) -> str:
    """``1536`` → ``"1.5 KiB"``; strings (``"12 GB"``) are kept as they are; NaN and ±Infinity read
    ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    if isinstance(size, str):
        try:
            size = float(size)
        except ValueError:
            return size
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        return text_of(size)
    if isinstance(size, float) and not math.isfinite(size):
        return number_text(size)
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    value = float(size)
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)  # pragma: no cover


def format_time(value: Any) -> str:
    """A datetime or ISO string as ``2026-11-24 15:12:03 UTC``; other values as they are."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        suffix = (
            ""
            if value.tzinfo is None
            else (" UTC" if value.utcoffset().total_seconds() == 0 else value.strftime(" %z"))
        )
        return value.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S") + suffix
    return str(value)


def text_of(value: Any) -> str:
    """A value as a person reads it: ``str``, but non-finite floats as ``NaN``/``Infinity``/``-Infinity``."""
    if isinstance(value, float):
        return number_text(value)
    return str(value)


_FORMATTERS = {"text": text_of, "duration": format_duration, "size": format_size, "time": format_time}


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, datetime)) and value != ""


def event_fields(event: Event) -> list[Field]:
    """The event's data as labelled fields: the standard ones first, then any other scalar keys, then the
    attachments (``run.log (12.0 KiB)``, with why one was left out for this target).

    At most :data:`MAX_FIELDS` data fields (then one ``More`` field says how many were left out), each
    value cut to :data:`FIELD_VALUE_LIMIT` characters. A ``digest`` event's fields say what it stands for
    (:func:`tocsin.digest.digest_fields`: Events, Why, Window, its group).
    """
    if event.type == "digest":
        from .digest import digest_fields  # imported here: digest builds on this module

        return digest_fields(event)
    data = event.data
    fields = []
    for key, label, kind in _FIELD_ORDER:
        value = data.get(key)
        if value is not None and _scalar(value):
            fields.append(Field(key, label, _FORMATTERS[kind](value)))
    known = {key for key, _, _ in _FIELD_ORDER} | _NOT_FIELDS
    left_out = 0
    for key, value in data.items():
        if key not in known and value is not None and _scalar(value):
            if len(fields) >= MAX_FIELDS:
                left_out += 1
                continue
            label = truncate(key.replace("_", " ").capitalize(), 100)
            fields.append(Field(key, label, text_of(value)))
    fields = [attrs.evolve(f, value=truncate(f.value, FIELD_VALUE_LIMIT)) for f in fields]
    if left_out:
        fields.append(Field("more", "More", f"{left_out} more field{'s' if left_out != 1 else ''} not shown"))
    if event.attachments:
        labels = [a.label() if hasattr(a, "label") else a.name for a in event.attachments]
        fields.append(Field("attachments", "Attachments", truncate("; ".join(labels), FIELD_VALUE_LIMIT)))
    return fields


def event_url(event: Event) -> str | None:
    """The link to the run or job: ``run_url``, ``url``, ``dataset_url`` or ``dashboard_url``."""
    for key in _URL_KEYS:
        value = event.data.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def safe_options(options: Any) -> dict[str, Any]:
    """A target's options for templates: every value but secrets, which show as ``***``."""
    if not attrs.has(type(options)):
        return dict(options) if isinstance(options, Mapping) else {}
    return {f.name: getattr(options, f.name) for f in attrs.fields(type(options))}


def _bounded(value: Any) -> Any:
    """A copy of ``value`` (a User or Source) with every string attribute cut to :data:`PART_LIMIT`."""
    if value is None or not attrs.has(type(value)):
        return value
    changes = {
        f.name: truncate(getattr(value, f.name), PART_LIMIT)
        for f in attrs.fields(type(value))
        if isinstance(getattr(value, f.name), str) and len(getattr(value, f.name)) > PART_LIMIT
    }
    return attrs.evolve(value, **changes) if changes else value


def _description(event: Event) -> str | None:
    if event.type == "digest":
        from .digest import digest_description  # imported here: digest builds on this module

        return digest_description(event)
    text = event.data.get("description") or event.data.get("message")
    if text is None or text == "":
        return event.known.description if event.known else None
    return truncate(text_of(text), DESCRIPTION_LIMIT)


def template_context(event: Event, target: Target) -> dict[str, Any]:
    """What every template sees: the event, its parts, presentation helpers and the target.

    The event's part is built once per event (:func:`event_view`) and shared by every part and target
    it is rendered for; each call returns a fresh dict (callers add to it) with its own ``fields`` list.
    """
    view = event_view(event)
    return {
        **view,
        "fields": list(view["fields"]),
        "target": {"name": target.name, "channel": target.channel, "options": safe_options(target.options)},
    }


_last_view: tuple[weakref.ref[Event], dict[str, Any], dict[str, Any]] | None = None


def event_view(event: Event) -> dict[str, Any]:
    """The event's part of :func:`template_context`, remembered for the last event it was asked for: an
    email's subject, text and HTML parts and every target of one event share it instead of each building
    the fields again. An event is frozen but its ``data`` dict is not, so the view is reused only while
    ``data`` holds what it held (a shallow comparison: the values the view shows are scalars)."""
    global _last_view
    last = _last_view
    if last is not None and last[0]() is event and _same(last[1], event.data):
        return last[2]
    severity = event.severity
    view = {
        "event": event,
        "type": event.type,
        "data": event.data,
        "title": truncate(event.title, TITLE_LIMIT),
        "severity": severity.value,
        "user": _bounded(event.user),
        "source": _bounded(event.source),
        "subject": event.subject,
        "fields": event_fields(event),
        "error": event.data.get("error"),
        "url": event_url(event),
        "mark": STATUS_MARKS[severity],
        "color": SEVERITY_COLORS[severity],
        "color_int": int(SEVERITY_COLORS[severity], 16),
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "occurred_at": event.occurred_at,
        "description": _description(event),
    }
    with contextlib.suppress(TypeError):  # an Event subclass without weak references: not remembered
        _last_view = (weakref.ref(event), dict(event.data), view)
    return view


def _same(before: dict[str, Any], data: Mapping[str, Any]) -> bool:
    try:
        return bool(before == data)
    except Exception:  # a value whose == raises or is ambiguous (an array): build the view again
        return False
