"""A clock tests move by hand: ``Notifier(config, clock=FakeClock())`` and ``clock.advance(60)``.

Noise control (rate-limit windows, group waits, quiet hours, de-duplication windows) and the dispatcher
read the time from the notifier's clock, so a test crosses a one-minute window or a night of quiet hours
at once, with no sleeping and no timed assertion. After ``advance``, ``notifier.flush(timeout)`` wakes the
dispatcher, which sends what came due.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

__all__ = ["FakeClock"]


class FakeClock:
    """Seconds since the epoch, like ``time.time``, that move only when told (thread-safe)."""

    def __init__(self, start: float | datetime | None = None) -> None:
        if isinstance(start, datetime):
            start = start.timestamp()
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock on by ``seconds``; returns the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float | datetime) -> None:
        """Jump to ``when`` (an epoch time or an aware datetime)."""
        with self._lock:
            self._now = when.timestamp() if isinstance(when, datetime) else float(when)
