"""Sample events with dummy data, for ``tocsin test`` and ``tocsin render``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from .digest import DIGEST_TYPE, digest_event
from .errors import ConfigError
from .events import Event, Severity, severity_for

if TYPE_CHECKING:
    from .delivery import Submission
    from .messages import Report

__all__ = ["SampleSends", "sample_data", "sample_digest", "sample_event"]


def sample_data(event_type: str) -> dict[str, Any]:
    """Realistic dummy data for ``event_type``: a run name, times, duration, size, and an error on failures."""
    finished = datetime.now(timezone.utc).replace(microsecond=0)
    started = finished - timedelta(minutes=12, seconds=34)
    data: dict[str, Any] = {
        "run_id": "run-0042",
        "run_name": "nightly-etl",
        "status": event_type.rsplit("_", 1)[-1],
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration": 754,
        "size": 1_572_864_000,
        "last_step": "load: write partitions",
        "run_url": "https://example.org/runs/run-0042",
    }
    if severity_for(event_type) is Severity.FAILURE:
        data["error"] = 'Traceback (most recent call last):\n  File "etl.py", line 42, in load\nIOError: disk full'
        data["exit_code"] = 1
    return data


def sample_event(event_type: str = "job_completed", **overrides: Any) -> Event:
    """An event of ``event_type`` with :func:`sample_data`; ``data`` in ``overrides`` is merged in.

    ``"digest"`` gives :func:`sample_digest` (so ``tocsin render TARGET digest`` and ``tocsin check`` show a
    real digest), with the overrides applied to it.
    """
    if event_type == DIGEST_TYPE:
        digest = sample_digest()
        if "data" in overrides:
            overrides["data"] = {**digest.data, **(overrides["data"] or {})}
        return attrs.evolve(digest, **overrides) if overrides else digest
    data = sample_data(event_type)
    data.update(overrides.pop("data", None) or {})
    overrides.setdefault("source", {"instance": "tocsin-sample", "url": "https://example.org"})
    return Event(type=event_type, data=data, **overrides)


class SampleSends:
    """The Notifier's test sends (``tocsin test``, the per-event Test button): sample events through
    :meth:`submit`, which the Notifier provides."""

    def submit(self, event: Event, *, targets: Any = None) -> Submission:  # pragma: no cover - the Notifier's
        raise NotImplementedError

    def submit_test(self, target: str | None = None, *, event: Event | str | None = None) -> Submission:
        """Submit a sample event (dummy data): to ``target`` alone, whatever its routing rules, or, without
        a target, to every target ``event`` would reach (the per-event Test button).

        ``event`` is a type name (a sample of it: ``job_completed`` by default) or an Event.
        """
        if target is None and event is None:
            raise ConfigError("test: name a target, an event type, or both")
        if event is None or isinstance(event, str):
            title = "tocsin test notification: this target works" if event is None else None
            event = sample_event(event or "job_completed", title=title)
        return self.submit(event, targets=[target] if target is not None else None)

    def test(self, target: str | None = None, *, event: Event | str | None = None) -> Report:
        """:meth:`submit_test`, then wait for the report."""
        return self.submit_test(target, event=event).result()

    async def atest(self, target: str | None = None, *, event: Event | str | None = None) -> Report:
        """:meth:`test` for async code (the report is awaited without blocking the loop)."""
        return await self.submit_test(target, event=event)


_DIGEST_WINDOWS = {"group": timedelta(minutes=5), "rate_limit": timedelta(minutes=1), "quiet_hours": timedelta(hours=9)}
_MIXED_TYPES = ("job_failed", "job_completed", "backup_failed", "job_completed", "job_started")


def sample_digest(reason: str = "group", count: int = 5, *, shown: int = 20, until: datetime | None = None) -> Event:
    """A digest (:func:`tocsin.digest_event`) of ``count`` sample events, for ``tocsin render`` and tests.

    ``reason="group"`` digests failures of one group (``"5 jobs failed in the last 5 minutes"``); the other
    reasons a mix of failures, successes and notes held by the rate limit or during quiet hours. Each event
    has its own run name and link (``https://example.org/runs/run-0001``).
    """
    until = until or datetime.now(timezone.utc).replace(microsecond=0)
    since = until - _DIGEST_WINDOWS.get(reason, timedelta(minutes=5))
    events = []
    for index in range(count):
        event_type = "job_failed" if reason == "group" else _MIXED_TYPES[index % len(_MIXED_TYPES)]
        run = f"run-{index + 1:04d}"
        data = {"run_id": run, "run_name": f"nightly-etl #{index + 1}", "run_url": f"https://example.org/runs/{run}"}
        at = since + (until - since) * (index + 1) / (count + 1)
        events.append(sample_event(event_type, data=data, occurred_at=at))
    group = {"type": "job_failed"} if reason == "group" else None
    return digest_event(events, reason=reason, since=since, until=until, group=group, shown=shown)
