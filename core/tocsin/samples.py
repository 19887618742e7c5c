"""Sample events with dummy data, for ``tocsin test`` and ``tocsin render``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .events import Event, Severity, severity_for

if TYPE_CHECKING:
    from .delivery import Submission
    from .messages import Report

__all__ = ["SampleSends", "sample_data", "sample_event"]


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
    """An event of ``event_type`` with :func:`sample_data`; ``data`` in ``overrides`` is merged in."""
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
