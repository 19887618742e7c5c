"""The ``memory`` store: the outbox in this process only (best-effort: a crash or exit loses what waits).

Pending rows sit in one heap per target, ordered by next attempt time, so a claim takes each lane's due
rows without scanning the others. Finished rows (delivered, dead) are remembered, up to ``keep``, so a
replayed event id is recognised and not sent again while the process lives.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import attrs

from . import DEAD, DELIVERED, PENDING, Delivery, Outbox, lane_of

__all__ = ["MemoryOutbox"]


class MemoryOutbox(Outbox):
    """The default store: a dict, per-target heaps, and a bounded memory of finished rows."""

    durable = False
    blocking = False
    label = "memory"

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, Delivery] = {}
        self._heaps: dict[str, list[tuple[float, int, str]]] = {}
        self._done: OrderedDict[str, Delivery] = OrderedDict()
        self._keep = keep
        self._seq = itertools.count(1)

    def _push(self, row: Delivery) -> None:
        heapq.heappush(self._heaps.setdefault(lane_of(row.target), []), (row.next_at, row.id or 0, row.key))

    def put(self, deliveries: Sequence[Delivery]) -> dict[str, Delivery]:
        existing: dict[str, Delivery] = {}
        with self._lock:
            for row in deliveries:
                key = row.key
                known = self._pending.get(key) or self._done.get(key)
                if known is not None and known.state != DEAD:
                    existing[key] = attrs.evolve(known)
                    continue
                if known is not None:
                    existing[key] = attrs.evolve(known)
                    del self._done[key]
                row.id = row.id or next(self._seq)
                self._pending[key] = row
                self._push(row)
        return existing

    def claim(self, owner: str, quotas: Mapping[str, int], limit: int, now: float, lease: float) -> list[Delivery]:
        claimed: list[Delivery] = []
        with self._lock:
            for lane, quota in quotas.items():
                heap = self._heaps.get(lane)
                taken = 0
                while heap and taken < quota and len(claimed) < limit and heap[0][0] <= now:
                    _, _, key = heapq.heappop(heap)
                    row = self._pending.get(key)
                    if row is None or row.lease_owner is not None:
                        continue  # finished or re-queued since this heap entry was pushed
                    row.lease_owner, row.lease_until = owner, now + lease
                    claimed.append(row)
                    taken += 1
        return claimed

    def finish(
        self,
        delivery: Delivery,
        owner: str,
        state: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        next_at: float | None = None,
    ) -> None:
        with self._lock:
            row = self._pending.get(delivery.key)
            if row is None:
                return
            row.attempts += 1
            row.last_status, row.last_error, row.updated_at = status_code, error, time.time()
            row.lease_owner = row.lease_until = None
            if state == PENDING:
                row.next_at = next_at if next_at is not None else time.time()
                self._push(row)
                return
            row.state = state
            del self._pending[row.key]
            self._done[row.key] = row
            while len(self._done) > self._keep:
                self._done.popitem(last=False)

    def release(self, owner: str, delivery: Delivery | None = None) -> None:
        with self._lock:
            for row in self._pending.values():
                if row.lease_owner == owner and (delivery is None or row.key == delivery.key):
                    row.lease_owner = row.lease_until = None
                    self._push(row)

    def next_due(self, lanes: Iterable[str]) -> float | None:
        with self._lock:
            heads = [heap[0][0] for name in lanes if (heap := self._heaps.get(name))]
        return min(heads) if heads else None

    def _find(self, key: str) -> Delivery | None:
        row = self._pending.get(key) or self._done.get(key)
        if row is None and key.isdigit():
            row = next((r for r in [*self._pending.values(), *self._done.values()] if r.id == int(key)), None)
        return row

    def status(self, key: str) -> Delivery | None:
        with self._lock:
            row = self._find(key)
            return None if row is None else attrs.evolve(row)

    def rows(self, state: str | None = None, target: str | None = None, limit: int = 100) -> list[Delivery]:
        with self._lock:
            every = [*self._pending.values(), *self._done.values()]
            chosen = [
                r for r in every if (state is None or r.state == state) and (target is None or r.target == target)
            ]
            chosen.sort(key=lambda r: r.id or 0, reverse=True)
            return [attrs.evolve(r) for r in chosen[:limit]]

    def stats(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        with self._lock:
            for row in [*self._pending.values(), *self._done.values()]:
                per = counts.setdefault(row.target, {s: 0 for s in (PENDING, DELIVERED, DEAD)})
                per[row.state] += 1
        return counts

    def retry(self, keys: Sequence[str] = (), *, all_dead: bool = False, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._lock:
            chosen = [r for r in self._done.values() if r.state == DEAD] if all_dead else []
            chosen += [r for key in keys if (r := self._find(key)) is not None and r.state == DEAD]
            for row in chosen:
                self._done.pop(row.key, None)
                row.state, row.next_at = PENDING, now
                self._pending[row.key] = row
                self._push(row)
        return len(chosen)

    def make_due(self, now: float) -> int:
        with self._lock:
            self._heaps.clear()
            for row in self._pending.values():
                row.next_at = min(row.next_at, now)
                if row.lease_owner is None:
                    self._push(row)
            return len(self._pending)

    def purge(self, older_than: float, states: Sequence[str] = (DELIVERED, DEAD)) -> int:
        cutoff = time.time() - older_than
        with self._lock:
            gone = [k for k, r in self._done.items() if r.state in states and r.updated_at < cutoff]
            for key in gone:
                del self._done[key]
        return len(gone)
