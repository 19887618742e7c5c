"""What a caller holds while its event is delivered: a :class:`Submission`, ending in a :class:`Report`.

``Notifier.submit`` returns one at once (routing and formatting done, nothing sent yet). Wait for the
report with ``submission.result(timeout=None)`` from any thread or ``await submission`` from any event
loop; ``as_completed()`` yields each target's receipt as it is known. Every submission ends with a
report whatever happens: delivered, failed, "pending in the outbox" (a durable store parked it for a
later attempt) or "not delivered: notifier closed". The futures are resolved by the dispatcher's
thread through the :class:`Tracker`, which also bounds how many deliveries wait (``max_pending``).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import TocsinError
from ..messages import Outcome, Receipt, Report
from .stores import DELIVERED, HELD, MERGED, PENDING, Delivery, Outbox

if TYPE_CHECKING:
    from .dispatcher import Dispatcher

__all__ = ["QueueFullError", "Submission", "Tracker"]

Future = concurrent.futures.Future


class _Future(Future[Receipt]):
    """A ``concurrent.futures.Future`` whose Condition (a lock and five bound methods, ~1.3 KiB) is made
    when first used: by a waiter, or when the result is set. A delivery that is only pending costs
    without it; ``wait``, ``as_completed`` and ``asyncio.wrap_future`` work unchanged."""

    def __init__(self) -> None:  # Future.__init__ without the Condition
        self._cond: threading.Condition | None = None
        self._state = "PENDING"
        self._result = None
        self._exception = None
        self._waiters: list[Any] = []
        self._done_callbacks: list[Any] = []

    @property
    def _condition(self) -> threading.Condition:
        cond = self._cond
        if cond is None:
            with _CONDITION_LOCK:
                if self._cond is None:
                    self._cond = threading.Condition()
                cond = self._cond
        return cond


_CONDITION_LOCK = threading.Lock()


class QueueFullError(TocsinError):
    """``max_pending`` deliveries already wait and none finished within ``queue_full_wait`` seconds."""


class Tracker:
    """The deliveries this notifier submitted and not yet finished (or parked), with their futures."""

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self._cond = threading.Condition()
        self._futures: dict[str, Future[Receipt]] = {}
        self._targets: dict[str, tuple[str, str]] = {}

    @property
    def outstanding(self) -> int:
        return len(self._futures)

    def reserve(self, count: int, timeout: float | None) -> bool:
        """Wait (at most ``timeout`` seconds) until ``count`` more fit under ``max_pending``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._fits(count), timeout)

    def _fits(self, count: int) -> bool:
        return not self._futures or len(self._futures) + count <= self.max_pending

    def fits(self, count: int) -> bool:
        with self._cond:
            return self._fits(count)

    def watch(self, key: str, target: str, channel: str) -> Future[Receipt]:
        """The future of delivery ``key`` (the same one for every submission of that key)."""
        with self._cond:
            future = self._futures.get(key)
            if future is None:
                future = self._futures[key] = _Future()
                self._targets[key] = (target, channel)
            return future

    def resolve(self, key: str, receipt: Receipt) -> bool:
        """Give ``key``'s waiters their receipt; False when nobody in this process was waiting for it."""
        with self._cond:
            future = self._futures.pop(key, None)
            self._targets.pop(key, None)
            self._cond.notify_all()
        if future is None:
            return False
        if not future.done():
            future.set_result(receipt)
        return True

    def put(
        self,
        store: Outbox,
        rows: Sequence[Delivery],
        backoff_max: float,
        now: float | None = None,
        *,
        held: Callable[[Delivery], Receipt] | None = None,
        dropped: Callable[[Delivery], None] | None = None,
    ) -> None:
        """Put ``rows`` in ``store`` (watched already); answer at once for keys the ledger already knows:
        delivered before (not sent again), parked for a later attempt, or a duplicate (noise control's
        de-duplication: "duplicate of <event id>"), and for rows put ``held`` (``held(row)`` is their
        receipt). ``dropped(row)`` is told of each row the store did not keep."""
        now = time.time() if now is None else now
        try:
            existing = store.put(rows, now)
        except Exception as exc:  # the outbox is unusable (disk full, locked): say so in each receipt
            existing = {row.key: row for row in rows}
            for row in rows:
                self.resolve(row.key, Receipt(row.target, row.channel, Outcome.FAILED, error=f"outbox: {exc}"))
        else:
            self._known(existing, {row.key: row for row in rows}, now, backoff_max)
        for row in rows:
            if row.key in existing:
                if dropped is not None:
                    dropped(row)
            elif row.state == HELD and held is not None:  # quiet hours or grouping: accounted for now
                self.resolve(row.key, held(row))

    def _known(
        self, existing: Mapping[str, Delivery], by_key: Mapping[str, Delivery], now: float, backoff_max: float
    ) -> None:
        for key, old in existing.items():
            if old.event_id != by_key[key].event_id:
                reason = f"duplicate of {old.event_id}"
                self.resolve(key, Receipt(old.target, old.channel, Outcome.SKIPPED, reason=reason))
            elif old.state == DELIVERED:
                reason = "already delivered (this event id was sent to this target before)"
                self.resolve(key, Receipt(old.target, old.channel, Outcome.DELIVERED, reason=reason))
            elif old.state == PENDING and old.next_at > now + backoff_max:
                reason = "pending in the outbox (submitted before, waiting for its next attempt)"
                self.resolve(key, Receipt(old.target, old.channel, Outcome.PENDING, reason=reason))
            elif old.state in (HELD, MERGED):
                reason = f"{old.state} (submitted before): " + (old.note or "waiting for its digest")
                self.resolve(key, Receipt(old.target, old.channel, Outcome.HELD, reason=reason))

    def abandon(self, durable: bool, closed: str) -> int:
        """Closing: answer every outstanding delivery (pending in a durable store, else failed ``closed``)."""
        with self._cond:
            pending = [(key, self._targets.get(key, ("?", "?"))) for key in self._futures]
        reason = "pending in the outbox: the notifier closed before it was delivered"
        count = 0
        for key, (target, channel) in pending:
            if durable:
                receipt = Receipt(target, channel, Outcome.PENDING, reason=reason)
            else:
                receipt = Receipt(target, channel, Outcome.FAILED, error=closed)
            count += self.resolve(key, receipt)
        return count

    def wait_idle(self, timeout: float | None) -> bool:
        """Block until nothing is outstanding (True) or ``timeout`` passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._futures, timeout)

    def settle(self, dispatcher: Dispatcher | None, timeout: float | None, horizon: float) -> bool:
        """``Notifier.flush``: nothing outstanding, and no held row due within ``horizon`` seconds unsent."""
        started = time.monotonic()
        if dispatcher is not None:
            dispatcher.wake()  # the clock may have moved (a test's FakeClock): look at what is due now
        if not self.wait_idle(timeout):
            return False
        if dispatcher is None or dispatcher.in_dispatcher_thread:
            return True
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        return dispatcher.until_idle(left, horizon=horizon, states=(HELD,)) and self.wait_idle(left)


class Submission:
    """One submitted event: its receipts so far, and the futures of the deliveries still running."""

    def __init__(
        self,
        event_id: str,
        event_type: str,
        order: Callable[[str], Any],
        immediate: list[Receipt],
        futures: Mapping[str, Future[Receipt]],
    ) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self._order = order
        self._immediate = list(immediate)
        self._futures = dict(futures)
        self._started = time.monotonic()

    def done(self) -> bool:
        """Whether every target has its outcome."""
        return all(f.done() for f in self._futures.values())

    def report(self) -> Report:
        """The report as it stands: targets still being delivered show as pending ("in progress")."""
        receipts = list(self._immediate)
        for name, future in self._futures.items():
            if future.done():
                receipts.append(future.result())
            else:
                receipts.append(Receipt(name, "", Outcome.PENDING, reason="still being delivered"))
        receipts.sort(key=lambda r: self._order(r.target))
        return Report(event_id=self.event_id, event_type=self.event_type, receipts=tuple(receipts))

    def result(self, timeout: float | None = None) -> Report:
        """Block until every target has an outcome and return the report (TimeoutError after ``timeout``)."""
        _, not_done = concurrent.futures.wait(list(self._futures.values()), timeout)
        if not_done:
            raise TimeoutError(f"{len(not_done)} deliveries of event {self.event_id} still running after {timeout}s")
        return self.report()

    def as_completed(self, timeout: float | None = None) -> Iterator[Receipt]:
        """Each target's receipt as soon as it is known: the immediate ones (skipped, broken), then the rest."""
        yield from self._immediate
        for future in concurrent.futures.as_completed(list(self._futures.values()), timeout):
            yield future.result()

    async def _wait(self) -> Report:
        import asyncio  # here, not at the top: importing tocsin does not load asyncio

        if len(self._futures) == 1:
            await asyncio.wrap_future(next(iter(self._futures.values())))
        elif self._futures:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self._futures.values()))
        return self.report()

    def __await__(self) -> Any:
        return self._wait().__await__()

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        return f"<Submission {self.event_type} {self.event_id} {state}>"
