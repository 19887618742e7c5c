"""Noise control's half of the SQLite outbox: duplicates, held bundles, rate-limited takes, digests.

Mixed into :class:`~tocsin.delivery.stores.sqlite.SqliteOutbox`; every method runs inside one of its
``BEGIN IMMEDIATE`` transactions, so the decisions hold across the processes sharing the file: two
processes never both send past a lane's rate limit (``sends`` is read and written in the claim's
transaction), never both release one bundle (its rows are leased together), and a duplicate is decided
against every process's rows. See :mod:`tocsin.delivery.stores` for the contract.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from . import HELD, PENDING, RATE_LIMIT, Delivery, Taken, open_at
from .sqlite_schema import COLUMNS, FREE_LEASE, IN_LANE, lane_params, owner_is_dead

__all__ = ["NoiseSql"]


class NoiseSql:
    """The noise-control methods of the SQLite outbox (needs its ``_tx`` and ``_row``)."""

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _row: Callable[[tuple[Any, ...]], Delivery]

    def _duplicate_of(self, db: sqlite3.Connection, row: Delivery, now: float) -> Delivery | None:
        if row.dedup_key is None or not row.dedup_until:
            return None
        found = db.execute(
            f"SELECT {COLUMNS} FROM deliveries WHERE target = ? AND dedup_key = ? AND dedup_until > ? "
            "AND state != 'dead' AND event_id != ? ORDER BY id LIMIT 1",
            (row.target, row.dedup_key, now, row.event_id),
        ).fetchone()
        return None if found is None else self._row(found)

    @staticmethod
    def _join(db: sqlite3.Connection, row: Delivery) -> None:
        """A held row's release time: its bundle's, else at least ``hold_interval`` after the last release."""
        ((due,),) = db.execute(
            "SELECT MIN(next_at) FROM deliveries WHERE state = 'held' AND target = ? AND hold = ?",
            (row.target, row.hold),
        ).fetchall()
        if due is not None:
            row.next_at = due
            return
        last = db.execute("SELECT released_at FROM holds WHERE target = ? AND hold = ?", (row.target, row.hold))
        found = last.fetchone()
        if found is not None and row.hold_interval:
            row.next_at = max(row.next_at, found[0] + row.hold_interval)

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
        with self._tx() as db:
            owners = db.execute(
                "SELECT DISTINCT lease_owner FROM deliveries WHERE state IN ('pending', 'held') AND lease_until >= ? "
                "AND lease_owner != ?",
                (now, owner),
            ).fetchall()
            dead = [o for (o,) in owners if owner_is_dead(o)]
            for lane, quota in quotas.items():
                room = min(quota, limit - len(taken))
                if room <= 0:
                    break
                self._take_lane(db, taken, lane, room, limits.get(lane), owner, now, lease, dead)
        return taken

    def _take_lane(
        self,
        db: sqlite3.Connection,
        taken: Taken,
        lane: str,
        room: int,
        rate: tuple[int, float] | None,
        owner: str,
        now: float,
        lease: float,
        dead: list[str],
    ) -> None:
        marks = ",".join("?" * len(dead)) or "NULL"
        unleased = FREE_LEASE.format(dead=marks)
        sends: list[float] = []
        if rate is not None:
            db.execute("DELETE FROM sends WHERE lane = ? AND at <= ?", (lane, now - rate[1]))
            sends = [at for (at,) in db.execute("SELECT at FROM sends WHERE lane = ?", (lane,))]
        cap = max(rate[0] - len(sends), 0) if rate is not None else room
        count = min(room, cap)
        free = f"state = 'pending' AND {IN_LANE} AND next_at <= ? AND {unleased}"
        params = (*lane_params(lane), now, now, *dead)
        units: list[tuple[float, int, Any]] = [
            (values[5], values[0], self._row(values))
            for values in db.execute(
                f"SELECT {COLUMNS} FROM deliveries WHERE {free} ORDER BY next_at, id LIMIT ?", (*params, count + 1)
            )
        ]
        bundles = db.execute(
            f"SELECT target, hold, MIN(next_at), MIN(id) FROM deliveries WHERE state = 'held' AND {IN_LANE} "
            f"GROUP BY target, hold HAVING MIN(next_at) <= ? AND SUM(CASE WHEN {unleased} THEN 0 ELSE 1 END) = 0",
            (*lane_params(lane), now, now, *dead),
        ).fetchall()
        units += [(due, first, (target, hold)) for target, hold, due, first in bundles]
        units.sort(key=lambda u: (u[0], u[1]))
        until = now + lease
        for _, _, unit in units[:count]:
            if isinstance(unit, Delivery):
                unit.lease_owner, unit.lease_until = owner, until
                db.execute(
                    "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?", (owner, until, unit.id)
                )
                taken.rows.append(unit)
            else:
                rows = [
                    self._row(values)
                    for values in db.execute(
                        f"SELECT {COLUMNS} FROM deliveries WHERE state = 'held' AND target = ? AND hold = ? "
                        "ORDER BY id",
                        unit,
                    )
                ]
                for row in rows:
                    row.lease_owner, row.lease_until = owner, until
                db.executemany(
                    "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?",
                    [(owner, until, row.id) for row in rows],
                )
                taken.bundles.append(rows)
            sends.append(now)
        if rate is not None and count:
            db.executemany("INSERT INTO sends (lane, at) VALUES (?, ?)", [(lane, now)] * min(count, len(units)))
        if rate is None or count < cap or len(units) <= count:
            return
        at = open_at(sends, rate[0], rate[1], now)
        taken_ids = [r.id for r in taken.rows] or [-1]
        skip = f" AND id NOT IN ({','.join('?' * len(taken_ids))})"
        mergeable = " AND attempts = 0 AND critical = 0 AND event_type != 'digest'"
        held = [
            self._row(values)
            for values in db.execute(
                f"SELECT {COLUMNS} FROM deliveries WHERE {free}{mergeable}{skip}", (*params, *taken_ids)
            )
        ]
        db.executemany(
            "UPDATE deliveries SET state = 'held', hold = ?, next_at = ?, updated_at = ? WHERE id = ?",
            [(RATE_LIMIT, at, time.time(), row.id) for row in held],
        )
        for row in held:
            row.state, row.hold, row.next_at = HELD, RATE_LIMIT, at
        taken.held.extend(held)
        db.execute(f"UPDATE deliveries SET next_at = ? WHERE {free}{skip}", (at, *params, *taken_ids))
        db.execute(
            f"UPDATE deliveries SET next_at = MAX(next_at, ?) WHERE state = 'held' AND {IN_LANE} "
            "AND (lease_owner IS NULL OR lease_owner != ?)",
            (at, *lane_params(lane), owner),
        )

    def release_hold(
        self, rows: Sequence[Delivery], owner: str, digest: Delivery | None, now: float
    ) -> Delivery | None:
        ids = [row.id for row in rows]
        marks = ",".join("?" * len(ids))
        with self._tx() as db:
            ((ours,),) = db.execute(
                f"SELECT COUNT(*) FROM deliveries WHERE id IN ({marks}) AND state = 'held' AND lease_owner = ?",
                (*ids, owner),
            ).fetchall()
            if not ids or ours != len(ids):
                return None
            first = rows[0]
            db.execute(
                "INSERT INTO holds (target, hold, released_at) VALUES (?, ?, ?) "
                "ON CONFLICT (target, hold) DO UPDATE SET released_at = excluded.released_at",
                (first.target, first.hold or "", now),
            )
            if digest is None:
                db.execute("UPDATE deliveries SET state = 'pending', updated_at = ? WHERE id = ?", (now, first.id))
                first.state = PENDING
                return first
            db.execute(
                f"UPDATE deliveries SET state = 'merged', note = ?, updated_at = ?, lease_owner = NULL, "
                f"lease_until = NULL WHERE id IN ({marks})",
                (f"merged into digest {digest.event_id}", now, *ids),
            )
            digest.note = f"digest of {len(rows)} deliveries"
            digest.lease_owner, digest.lease_until = owner, first.lease_until
            cursor = db.execute(
                "INSERT INTO deliveries (event_id, target, channel, event_type, state, attempts, next_at, created_at, "
                "updated_at, message, event, critical, note, lease_owner, lease_until) "
                "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (
                    digest.event_id,
                    digest.target,
                    digest.channel,
                    digest.message.event_type,
                    now,
                    now,
                    now,
                    json.dumps(digest.message.to_dict(), ensure_ascii=False),
                    json.dumps(digest.event, ensure_ascii=False, default=str),
                    digest.note,
                    owner,
                    digest.lease_until,
                ),
            )
            digest.id = cursor.lastrowid
            return digest

    def fail_hold(self, rows: Sequence[Delivery], owner: str, error: str, now: float) -> int:
        ids = [row.id for row in rows]
        marks = ",".join("?" * len(ids)) or "NULL"
        with self._tx() as db:
            return db.execute(
                f"UPDATE deliveries SET state = 'dead', last_error = ?, updated_at = ?, lease_owner = NULL, "
                f"lease_until = NULL WHERE id IN ({marks}) AND state = 'held' AND lease_owner = ?",
                (error, now, *ids, owner),
            ).rowcount
