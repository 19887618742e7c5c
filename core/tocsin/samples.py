"""Sample events with dummy data, for ``tocsin test`` and ``tocsin render``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .events import Event, Severity, severity_for

__all__ = ["sample_data", "sample_event"]


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
