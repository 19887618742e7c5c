"""The ``memory`` store: the outbox in this process only (best-effort: a crash or exit loses what waits).

Pending rows sit in one heap per target, ordered by next attempt time, so a claim takes each lane's due
rows without scanning the others. Held rows (noise control) wait in a dict beside them, with the sends of
each lane (for rate limits) and the last release of each bundle. Finished rows (delivered, dead, merged)
are remembered, up to ``keep``, so a replayed event id is recognised and not sent again while the process
lives, and a duplicate is recognised while its window lasts.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import attrs

from . import DEAD, DELIVERED, HELD, MERGED, PENDING, RATE_LIMIT, STATES, Delivery, Outbox, Taken, lane_of, open_at

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
        self._held: dict[str, Delivery] = {}
        self._sends: dict[str, list[float]] = {}
        self._released: dict[tuple[str, str], float] = {}
        self._dedup: dict[tuple[str, str], str] = {}
        self._keep = keep
        self._seq = itertools.count(1)

    def _push(self, row: Delivery) -> None:
        heapq.heappush(self._heaps.setdefault(lane_of(row.target), []), (row.next_at, row.id or 0, row.key))

    def put(self, deliveries: Sequence[Delivery], now: float | None = None) -> dict[str, Delivery]:
        existing: dict[str, Delivery] = {}
        now = time.time() if now is None else now
        with self._lock:
            for row in deliveries:
                key = row.key
                known = self._pending.get(key) or self._held.get(key) or self._done.get(key)
                if known is not None and known.state != DEAD:
                    existing[key] = attrs.evolve(known)
                    continue
                original = self._duplicate_of(row, now)
                if original is not None:
                    existing[key] = attrs.evolve(original)
                    continue
                if known is not None:
                    existing[key] = attrs.evolve(known)
                    del self._done[key]
                row.id = row.id or next(self._seq)
                if row.dedup_key is not None:
                    self._dedup[(row.target, row.dedup_key)] = key
                if row.state == HELD:
                    self._join(row)
                    self._held[key] = row
                else:
                    self._pending[key] = row
                    self._push(row)
        return existing

    def _duplicate_of(self, row: Delivery, now: float) -> Delivery | None:
        if row.dedup_key is None or not row.dedup_until:
            return None
        original = self._find(self._dedup.get((row.target, row.dedup_key), ""))
        if original is None or original.state == DEAD or (original.dedup_until or 0) <= now:
            return None
        return original if original.event_id != row.event_id else None

    def _join(self, row: Delivery) -> None:
        """A held row's release time: its bundle's, else at least ``hold_interval`` after the last release."""
        bundle = [r.next_at for r in self._held.values() if r.target == row.target and r.hold == row.hold]
        if bundle:
            row.next_at = min(bundle)
            return
        last = self._released.get((row.target, row.hold or ""))
        if last is not None and row.hold_interval:
            row.next_at = max(row.next_at, last + row.hold_interval)

    def take(
        self,
        owner: str,
        quotas: Mapping[str, int],
        limit: int,
        now: float,
        lease: float,
        limits: Mapping[str, tuple[int, float]] | None = None,
    ) -> Taken:
        taken = Taken()
        limits = limits or {}
        with self._lock:
            for lane, quota in quotas.items():
                room = min(quota, limit - len(taken))
                if room <= 0:
                    break
                rate = limits.get(lane)
                sends = self._sends.setdefault(lane, [])
                if rate is not None:
                    sends[:] = [at for at in sends if at > now - rate[1]]
                cap = max(rate[0] - len(sends), 0) if rate is not None else room
                units = self._due(lane, now, everything=rate is not None)
                count = min(room, cap)
                for _, _, unit in units[:count]:
                    for row in unit:
                        row.lease_owner, row.lease_until = owner, now + lease
                    (taken.bundles.append(unit) if unit[0].state == HELD else taken.rows.append(unit[0]))
                    sends.append(now)
                rest = [unit for _, _, unit in units[count:]]
                if rate is not None and count == cap and rest:
                    self._wait_for_window(rest, open_at(sends, rate[0], rate[1], now), taken)
                else:
                    for unit in rest:
                        if unit[0].state == PENDING:
                            self._push(unit[0])
        return taken

    def _due(self, lane: str, now: float, everything: bool) -> list[tuple[float, int, list[Delivery]]]:
        """The lane's due units in order: pending rows (popped from the heap) and held bundles."""
        units: list[tuple[float, int, list[Delivery]]] = []
        heap = self._heaps.get(lane)
        while heap and heap[0][0] <= now:
            _, _, key = heapq.heappop(heap)
            row = self._pending.get(key)
            if row is None or row.lease_owner is not None:
                continue  # finished or re-queued since this heap entry was pushed
            units.append((row.next_at, row.id or 0, [row]))
        bundles: dict[tuple[str, str], list[Delivery]] = {}
        for row in self._held.values():
            if lane_of(row.target) == lane:
                bundles.setdefault((row.target, row.hold or ""), []).append(row)
        for rows in bundles.values():
            due = min(r.next_at for r in rows)
            if due <= now and all(r.lease_owner is None for r in rows):
                rows.sort(key=lambda r: r.id or 0)
                units.append((due, rows[0].id or 0, rows))
        units.sort(key=lambda u: (u[0], u[1]))
        return units

    def _wait_for_window(self, units: list[list[Delivery]], at: float, taken: Taken) -> None:
        """The rate limit is reached: hold first attempts for the ``rate_limit`` digest; the rest wait, in order."""
        for unit in units:
            row = unit[0]
            if row.state == HELD:
                for member in unit:
                    member.next_at = max(member.next_at, at)
            elif row.mergeable:
                del self._pending[row.key]
                row.state, row.hold, row.next_at, row.updated_at = HELD, RATE_LIMIT, at, time.time()
                self._held[row.key] = row
                taken.held.append(attrs.evolve(row))
            else:
                row.next_at = at
                self._push(row)

    def release_hold(
        self, rows: Sequence[Delivery], owner: str, digest: Delivery | None, now: float
    ) -> Delivery | None:
        with self._lock:
            members = [self._held.get(r.key) for r in rows]
            if not members or any(m is None or m.lease_owner != owner for m in members):
                return None
            first = members[0]
            assert first is not None
            self._released[(first.target, first.hold or "")] = now
            if digest is None:
                del self._held[first.key]
                first.state = PENDING
                self._pending[first.key] = first
                return first
            for member in members:
                assert member is not None
                del self._held[member.key]
                member.state, member.note, member.updated_at = MERGED, f"merged into digest {digest.event_id}", now
                member.lease_owner = member.lease_until = None
                self._remember(member)
            digest.id = next(self._seq)
            digest.lease_owner, digest.lease_until = owner, first.lease_until
            digest.note = f"digest of {len(members)} deliveries"
            self._pending[digest.key] = digest
            return digest

    def fail_hold(self, rows: Sequence[Delivery], owner: str, error: str, now: float) -> int:
        with self._lock:
            failed = [m for r in rows if (m := self._held.get(r.key)) is not None and m.lease_owner == owner]
            for row in failed:
                del self._held[row.key]
                row.state, row.last_error, row.updated_at = DEAD, error, now
                row.lease_owner = row.lease_until = None
                self._remember(row)
            return len(failed)

    def _remember(self, row: Delivery) -> None:
        self._done[row.key] = row
        while len(self._done) > self._keep:
            self._done.popitem(last=False)

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
            self._remember(row)

    def release(self, owner: str, delivery: Delivery | None = None) -> None:
        with self._lock:
            for row in self._pending.values():
                if row.lease_owner == owner and (delivery is None or row.key == delivery.key):
                    row.lease_owner = row.lease_until = None
                    self._push(row)
            for row in self._held.values():
                if row.lease_owner == owner and (delivery is None or row.key == delivery.key):
                    row.lease_owner = row.lease_until = None

    def next_due(self, lanes: Iterable[str], states: Sequence[str] = (PENDING, HELD)) -> float | None:
        names = set(lanes)
        with self._lock:
            heads = [heap[0][0] for name in names if (heap := self._heaps.get(name))] if PENDING in states else []
            if HELD in states:
                held = self._held.values()
                heads += [r.next_at for r in held if r.lease_owner is None and lane_of(r.target) in names]
        return min(heads) if heads else None

    def _every(self) -> list[Delivery]:
        return [*self._pending.values(), *self._held.values(), *self._done.values()]

    def _find(self, key: str) -> Delivery | None:
        row = self._pending.get(key) or self._held.get(key) or self._done.get(key)
        if row is None and key.isdigit():
            row = next((r for r in self._every() if r.id == int(key)), None)
        return row

    def status(self, key: str) -> Delivery | None:
        with self._lock:
            row = self._find(key)
            return None if row is None else attrs.evolve(row)

    def rows(self, state: str | None = None, target: str | None = None, limit: int = 100) -> list[Delivery]:
        with self._lock:
            every = self._every()
            chosen = [
                r for r in every if (state is None or r.state == state) and (target is None or r.target == target)
            ]
            chosen.sort(key=lambda r: r.id or 0, reverse=True)
            return [attrs.evolve(r) for r in chosen[:limit]]

    def stats(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        with self._lock:
            for row in self._every():
                per = counts.setdefault(row.target, {s: 0 for s in STATES})
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

    def make_due(self, now: float, states: Sequence[str] = (PENDING, HELD)) -> int:
        with self._lock:
            count = 0
            if PENDING in states:
                self._heaps.clear()
                for row in self._pending.values():
                    row.next_at = min(row.next_at, now)
                    if row.lease_owner is None:
                        self._push(row)
                count += len(self._pending)
            if HELD in states:
                for row in self._held.values():
                    row.next_at = min(row.next_at, now)
                count += len(self._held)
            return count

    def purge(self, older_than: float, states: Sequence[str] = (DELIVERED, DEAD, MERGED)) -> int:
        cutoff = time.time() - older_than
        with self._lock:
            self._released = {k: at for k, at in self._released.items() if at >= cutoff}  # old group timings
            gone = [k for k, r in self._done.items() if r.state in states and r.updated_at < cutoff]
            for key in gone:
                del self._done[key]
        return len(gone)
