"""The event model: what happened, when, to whom, and how bad it is.

An :class:`Event` is what a host application hands to tocsin. It is plain data (attrs, frozen) and
serializable with cattrs, so it can be logged, stored or sent to another process.
"""

from __future__ import annotations

import enum
import functools
import os
import re
import socket
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from .attachments import to_attachments

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventType",
    "Severity",
    "Source",
    "User",
    "severity_for",
]

_EVENT_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Severity(str, enum.Enum):
    """How an event should look and who wants it: routing's ``when`` matches these values."""

    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class EventType:
    """One entry of the standard catalogue: a type name, its default severity and what it means."""

    name: str
    severity: Severity
    category: str
    description: str


def _catalogue(*rows: tuple[str, Severity, str, str]) -> dict[str, EventType]:
    return {name: EventType(name, severity, category, text) for name, severity, category, text in rows}


S, F, W, N = Severity.SUCCESS, Severity.FAILURE, Severity.WARNING, Severity.INFO

#: The standard event types. Any other snake_case type works too; its severity is derived from its name.
EVENT_TYPES: dict[str, EventType] = _catalogue(
    ("job_submitted", N, "job", "A job was accepted into a queue."),
    ("job_started", N, "job", "A job began running."),
    ("job_completed", S, "job", "A job finished successfully."),
    ("job_failed", F, "job", "A job ended with an error."),
    ("job_cancelled", W, "job", "A job was cancelled before it finished."),
    ("job_timeout", F, "job", "A job ran past its time limit and was stopped."),
    ("job_held", W, "job", "A job was put on hold and waits for someone."),
    ("job_released", N, "job", "A held job was released and may run."),
    ("queue_finished", S, "job", "A queue ran every job it had and is now idle."),
    ("backup_started", N, "backup", "A backup began."),
    ("backup_completed", S, "backup", "A backup finished successfully."),
    ("backup_failed", F, "backup", "A backup ended with an error."),
    ("restore_started", N, "backup", "A restore began."),
    ("restore_completed", S, "backup", "A restore finished successfully."),
    ("restore_failed", F, "backup", "A restore ended with an error."),
    ("user_login", N, "user", "A user signed in."),
    ("user_created", N, "user", "A user account was created."),
    ("system_error", F, "system", "The host application hit an error outside any job."),
    ("scheduler_online", N, "system", "The scheduler (re)started and is accepting work."),
    ("run_start", N, "pipeline", "A pipeline run began."),
    ("run_end", S, "pipeline", "A pipeline run finished successfully."),
    ("run_failure", F, "pipeline", "A pipeline run failed."),
    ("apply_start", N, "pipeline", "A plan/apply step began."),
    ("apply_end", S, "pipeline", "A plan/apply step finished successfully."),
    ("apply_failure", F, "pipeline", "A plan/apply step failed."),
    ("audit_failure", F, "pipeline", "A data audit or check failed."),
)
del S, F, W, N

_SUFFIX_SEVERITY: tuple[tuple[tuple[str, ...], Severity], ...] = (
    (("_failed", "_failure", "_timeout", "_error", "_errored", "_crashed"), Severity.FAILURE),
    (("_cancelled", "_canceled", "_held", "_warning", "_retry", "_retrying", "_degraded"), Severity.WARNING),
    (("_completed", "_succeeded", "_success", "_finished", "_end", "_done", "_ok", "_passed"), Severity.SUCCESS),
)


def severity_for(event_type: str) -> Severity:
    """The default severity of ``event_type``: from the catalogue, else from its suffix, else info.

    >>> severity_for("job_failed"), severity_for("nightly_export_timeout"), severity_for("deploy_done")
    (<Severity.FAILURE: 'failure'>, <Severity.FAILURE: 'failure'>, <Severity.SUCCESS: 'success'>)
    """
    known = EVENT_TYPES.get(event_type)
    if known is not None:
        return known.severity
    for suffixes, severity in _SUFFIX_SEVERITY:
        if event_type.endswith(suffixes):
            return severity
    return Severity.INFO


@attrs.frozen
class User:
    """Who the event is about or who caused it; ``email`` lets channels notify them directly."""

    name: str | None = None
    email: str | None = None
    id: str | None = None

    @property
    def label(self) -> str:
        """A short human name: the name, else the email, else the id."""
        return self.name or self.email or self.id or ""

    def matches(self, wanted: str) -> bool:
        """Whether a routing ``users`` entry names this user (by name, email or id, case-insensitive)."""
        wanted = wanted.casefold()
        return any(value is not None and value.casefold() == wanted for value in (self.name, self.email, self.id))


def _to_names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _to_user(value: Any) -> User | None:
    if value is None or isinstance(value, User):
        return value
    if isinstance(value, str):
        return User(email=value) if "@" in value else User(name=value)
    if isinstance(value, Mapping):
        return User(**{k: (None if v is None else str(v)) for k, v in value.items()})
    raise TypeError(f"user must be a string, a mapping or a User, not {type(value).__name__}")


class _RandomIds:
    """Random (version 4) UUIDs as ``uuid.uuid4()`` makes them, from ``os.urandom`` read 4 KiB at a time:
    one system call per 256 events instead of one per event (each one a GIL hand-off to the dispatcher
    thread in bench/ profiles). A forked child starts with a fresh buffer, so it never repeats its parent's ids.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._used = 0
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._buffer, self._used = b"", 0

    def __call__(self) -> str:
        with self._lock:
            if self._used >= len(self._buffer):
                self._buffer, self._used = os.urandom(4096), 0
            chunk = self._buffer[self._used : self._used + 16]
            self._used += 16
        return str(uuid.UUID(bytes=chunk, version=4))


_new_id = _RandomIds()


@functools.cache
def _hostname() -> str:
    """This machine's name, asked once per process (a system call per event showed in bench/ profiles)."""
    return socket.gethostname()


@attrs.frozen
class Source:
    """Where the event comes from: the instance's label and URL, the host, the app's version."""

    instance: str | None = None
    url: str | None = None
    host: str | None = attrs.field(factory=_hostname)
    app_version: str | None = None


def _to_source(value: Any) -> Source:
    if value is None:
        return Source()
    if isinstance(value, Source):
        return value
    if isinstance(value, Mapping):
        return Source(**dict(value))
    raise TypeError(f"source must be a mapping or a Source, not {type(value).__name__}")


def _to_severity(value: Severity | str | None) -> Severity | None:
    if value is None or isinstance(value, Severity):
        return value
    try:
        return Severity(str(value).lower())
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise ValueError(f"severity must be one of {choices}, not {value!r}") from None


def _to_aware_utc(value: datetime | str | None) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware (naive datetimes are ambiguous)")
    return value.astimezone(timezone.utc)


def _to_recipients(value: Any) -> tuple[str, ...]:
    """``"ops@example.org"`` is one address (not 15 one-character ones); None none; a list each of its items."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, Mapping):
        raise TypeError("recipients must be an address or a list of addresses, not a mapping")
    return tuple(str(item) for item in value)


def _check_type(_instance: Any, _attribute: Any, value: str) -> None:
    if not _EVENT_TYPE_RE.match(value):
        raise ValueError(f"event type must be snake_case (like job_failed), not {value!r}")


def _freeze_data(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"data must be a mapping, not {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


@attrs.frozen
class Event:
    """Something that happened, as a host application reports it.

    Only ``type`` is required. ``severity`` defaults from the type (see :func:`severity_for`), ``title``
    from the type and the run or job name, ``id`` is a fresh UUID (the idempotency key channels pass on,
    e.g. the webhook ``webhook-id`` header), ``occurred_at`` is now, in UTC.

    ``data`` is free: the standard keys that templates show are ``run_id``, ``run_name`` (or
    ``job_name``), ``status``, ``last_step``, ``error``, ``started_at``, ``finished_at``, ``duration``
    (seconds), ``size`` (bytes), ``url`` / ``run_url``, ``queue``, ``exit_code``.
    ``recipients`` are extra addresses named at submission time (a job asking for its own recipients);
    ``recipient_events`` the event types they asked for (none: the config's ``recipient_events``).
    ``users`` are further users the event concerns besides ``user`` (every owner of an audited model).
    ``attachments`` are files to send along: paths, :class:`tocsin.Attachment` (a path, or bytes with a
    name), copied into the notifier's attachment store when the event is accepted (see
    :mod:`tocsin.attachments`); channels that carry files send them, the others list their names.
    ``critical`` events bypass noise control (de-duplication, digests, quiet hours), never a rate limit's
    order (see README "Noise control"); a target's ``critical`` severities do the same per target.
    """

    type: str = attrs.field(validator=_check_type)
    data: dict[str, Any] = attrs.field(factory=dict, converter=_freeze_data)
    title: str | None = None
    severity: Severity = attrs.field(default=None, converter=_to_severity)
    user: User | None = attrs.field(default=None, converter=_to_user)
    recipients: tuple[str, ...] = attrs.field(default=(), converter=_to_recipients)
    recipient_events: tuple[str, ...] = attrs.field(default=(), converter=_to_names)
    users: tuple[User, ...] = attrs.field(default=(), converter=lambda v: tuple(_to_user(u) for u in v))
    source: Source = attrs.field(factory=Source, converter=_to_source)
    id: str = attrs.field(factory=lambda: _new_id())
    occurred_at: datetime = attrs.field(default=None, converter=_to_aware_utc)
    # Attachment | AttachmentRef items; typed Any so cattrs hands stored dicts to the converter as they are
    attachments: tuple[Any, ...] = attrs.field(default=(), converter=to_attachments)
    critical: bool = False

    def __attrs_post_init__(self) -> None:
        if self.severity is None:
            object.__setattr__(self, "severity", severity_for(self.type))
        if not self.title or not str(self.title).strip():  # a blank title would leave channels nothing to show
            object.__setattr__(self, "title", default_title(self.type, self.data))

    @property
    def all_users(self) -> tuple[User, ...]:
        """``user`` (when set) and ``users``: everyone routing's ``users`` rules may match."""
        return ((self.user,) if self.user is not None else ()) + self.users

    @property
    def known(self) -> EventType | None:
        """The catalogue entry of this event's type, or None for a custom type."""
        return EVENT_TYPES.get(self.type)

    @property
    def subject(self) -> str | None:
        """The name of what the event is about: run_name, job_name, name, run_id or job_id."""
        for key in ("run_name", "job_name", "name", "backup_name", "queue", "run_id", "job_id"):
            value = self.data.get(key)
            if value not in (None, ""):
                return str(value)
        return None


def default_title(event_type: str, data: Mapping[str, Any]) -> str:
    """``job_failed`` + ``{"run_name": "nightly"}`` → ``"Job failed: nightly"``."""
    words = event_type.replace("_", " ").strip()
    title = words[:1].upper() + words[1:]
    for key in ("run_name", "job_name", "name", "backup_name", "queue", "run_id", "job_id"):
        value = data.get(key)
        if value not in (None, ""):
            return f"{title}: {value}"
    return title
