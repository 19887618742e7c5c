"""Routing: which targets want an event, and why the others were skipped."""

from __future__ import annotations

from fnmatch import fnmatchcase

from .config import Target
from .events import Event

__all__ = ["skip_reason"]


def skip_reason(event: Event, target: Target) -> str | None:
    """Why ``target`` does not want ``event``, or None when it does.

    ``events`` matches the type by name or glob (``"*"``, ``job_*``); ``when`` is ``"always"`` or a list
    of severities; ``users``, when set, must name the event's user (by name, email or id).
    """
    if not target.enabled:
        return "target disabled"
    if not any(fnmatchcase(event.type, pattern) for pattern in target.events):
        return f"event {event.type} not in events"
    if target.when != "always" and event.severity.value not in target.when:
        return f"severity {event.severity.value} not in when"
    if target.users:
        if event.user is None:
            return "event has no user and users is set"
        if not any(event.user.matches(wanted) for wanted in target.users):
            return f"user {event.user.label} not in users"
    return None
