"""The delivery engine: an outbox, a dispatcher with a lane per target, a retry policy, submissions.

``Notifier.submit`` formats an event once per target and puts each (event, target) delivery in the
outbox (:mod:`.stores`: ``memory`` or ``sqlite``); the :class:`Dispatcher` (its own thread and event
loop) claims due deliveries lane by lane and sends each with :func:`attempt`, the only sender; the
:mod:`.policy` decides retry-at-T or dead; the caller's :class:`Submission` ends with a Report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so ``tocsin.config`` can read ``.settings`` without the
# dispatcher, asyncio and the HTTP stack being imported with it.
_EXPORTS = {
    "AttemptResult": "attempt",
    "attempt": "attempt",
    "Dispatcher": "dispatcher",
    "RetryPolicy": "policy",
    "backoff_delay": "policy",
    "decide": "policy",
    "parse_duration": "policy",
    "DEAD": "stores",
    "DELIVERED": "stores",
    "PENDING": "stores",
    "Delivery": "stores",
    "Outbox": "stores",
    "open_store": "stores",
    "QueueFullError": "submission",
    "Submission": "submission",
    "Tracker": "submission",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = globals()[name] = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    return value


if TYPE_CHECKING:
    from .attempt import AttemptResult, attempt
    from .dispatcher import Dispatcher
    from .policy import RetryPolicy, backoff_delay, decide, parse_duration
    from .stores import DEAD, DELIVERED, PENDING, Delivery, Outbox, open_store
    from .submission import QueueFullError, Submission, Tracker

__all__ = [
    "DEAD",
    "DELIVERED",
    "PENDING",
    "AttemptResult",
    "Delivery",
    "Dispatcher",
    "Outbox",
    "QueueFullError",
    "RetryPolicy",
    "Submission",
    "Tracker",
    "attempt",
    "backoff_delay",
    "decide",
    "open_store",
    "parse_duration",
]
