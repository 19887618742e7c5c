"""The ``sqlite`` store: a durable outbox in one file, shared safely by the processes of one host.

One row per (event id, target), unique; the formatted Message and the event are stored as JSON (they
hold no secret: targets are resolved by name from the config at delivery time), with the attempts, last
HTTP status, last (redacted) error and next attempt time. WAL mode, so readers never wait for the
writer; every claim is one ``BEGIN IMMEDIATE`` transaction, so two processes never lease the same row.
A lease expires (``[delivery] lease``), and a lease whose owner was a process of this host that no
longer runs is free at once, so a crashed process's deliveries are taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import TocsinError
from ...messages import Message
from . import DEAD, DELIVERED, PENDING, Delivery, Outbox

__all__ = ["SqliteOutbox", "owner_is_dead"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    target TEXT NOT NULL,
    channel TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    lease_owner TEXT,
    lease_until REAL,
    message TEXT NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (event_id, target)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, target, next_at);
"""
COLUMNS = (
    "id, event_id, target, state, attempts, next_at, created_at, updated_at, last_status, last_error, "
    "lease_owner, lease_until, message, event"
)


#: A row in a lane: the target's own deliveries and its ``<target>/user``, ``<target>/recipients`` ones.
IN_LANE = "(target = ? OR target = ? || '/user' OR target = ? || '/recipients')"


def _lane_params(lane: str) -> tuple[str, str, str]:
    return (lane, lane, lane)


def owner_is_dead(owner: str) -> bool:
    """Whether a lease owner (``host:pid:token``) was a process of this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but not ours (EPERM)
        return False
    return False


class SqliteOutbox(Outbox):
    """A durable outbox in a SQLite file (created, with its folder, on first use)."""

    durable = True
    blocking = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.label = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise TocsinError(f"outbox {self.path}: cannot open: {exc}") from None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @staticmethod
    def _row(values: tuple[Any, ...]) -> Delivery:
        (id_, event_id, target, state, attempts, next_at, created, updated, status, error, owner, until, msg, event) = (
            values
        )
        return Delivery(
            event_id=event_id,
            target=target,
            message=Message.from_dict(json.loads(msg)),
            event=json.loads(event),
            state=state,
            attempts=attempts,
            next_at=next_at,
            created_at=created,
            updated_at=updated,
            last_status=status,
            last_error=error,
            lease_owner=owner,
            lease_until=until,
            id=id_,
        )

    def put(self, deliveries: Sequence[Delivery]) -> dict[str, Delivery]:
        existing: dict[str, Delivery] = {}
        now = time.time()
        with self._tx() as db:
            for row in deliveries:
                cursor = db.execute(
                    "INSERT INTO deliveries (event_id, target, channel, event_type, state, attempts, next_at, "
                    "created_at, updated_at, message, event) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (event_id, target) DO NOTHING",
                    (
                        row.event_id,
                        row.target,
                        row.channel,
                        row.message.event_type,
                        row.next_at,
                        row.created_at,
                        now,
                        json.dumps(row.message.to_dict(), ensure_ascii=False),
                        json.dumps(row.event, ensure_ascii=False, default=str),
                    ),
                )
                if cursor.rowcount:
                    row.id = cursor.lastrowid
                    continue
                old = db.execute(
                    f"SELECT {COLUMNS} FROM deliveries WHERE event_id = ? AND target = ?", (row.event_id, row.target)
                ).fetchone()
                existing[row.key] = self._row(old)
                if old[3] == DEAD:  # submitted again: a new round of attempts
                    db.execute(
                        "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?, updated_at = ?, "
                        "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                        (now, now, old[0]),
                    )
        return existing

    def claim(self, owner: str, quotas: Mapping[str, int], limit: int, now: float, lease: float) -> list[Delivery]:
        claimed: list[Delivery] = []
        with self._tx() as db:
            owners = db.execute(
                "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'pending' AND lease_until >= ? "
                "AND lease_owner != ?",
                (now, owner),
            ).fetchall()
            dead = [o for (o,) in owners if owner_is_dead(o)]
            marks = ",".join("?" * len(dead)) or "NULL"
            for lane, quota in quotas.items():
                take = min(quota, limit - len(claimed))
                if take <= 0:
                    break
                claimed.extend(
                    self._row(values)
                    for values in db.execute(
                        f"SELECT {COLUMNS} FROM deliveries WHERE state = 'pending' AND {IN_LANE} AND next_at <= ? "
                        f"AND (lease_owner IS NULL OR lease_until < ? OR lease_owner IN ({marks})) "
                        "ORDER BY next_at, id LIMIT ?",
                        (*_lane_params(lane), now, now, *dead, take),
                    )
                )
            for row in claimed:
                row.lease_owner, row.lease_until = owner, now + lease
            db.executemany(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(owner, now + lease, row.id) for row in claimed],
            )
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
        now = time.time()
        with self._tx() as db:
            if state == DELIVERED:  # whoever holds the lease now, it was delivered: never send it again
                db.execute(
                    "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?, "
                    "last_error = NULL, updated_at = ?, lease_owner = NULL, lease_until = NULL "
                    "WHERE id = ? AND state = 'pending'",
                    (status_code, now, delivery.id),
                )
                return
            db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?, "
                "next_at = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND state = 'pending' AND lease_owner = ?",
                (state, status_code, error, next_at if next_at is not None else now, now, delivery.id, owner),
            )

    def release(self, owner: str, delivery: Delivery | None = None) -> None:
        only = "" if delivery is None else " AND id = ?"
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL "
                f"WHERE lease_owner = ? AND state = 'pending'{only}",
                (owner,) if delivery is None else (owner, delivery.id),
            )

    def next_due(self, lanes: Iterable[str]) -> float | None:
        names = list(lanes)
        if not names:
            return None
        where = " OR ".join([IN_LANE] * len(names))
        ((due,),) = self._read(
            "SELECT MIN(CASE WHEN lease_until > next_at THEN lease_until ELSE next_at END) FROM deliveries "
            f"WHERE state = 'pending' AND ({where})",
            [param for name in names for param in _lane_params(name)],
        )
        return due

    def status(self, key: str) -> Delivery | None:
        if key.isdigit():
            found = self._read(f"SELECT {COLUMNS} FROM deliveries WHERE id = ?", (int(key),))
        else:
            event_id, _, target = key.partition(":")
            found = self._read(
                f"SELECT {COLUMNS} FROM deliveries WHERE event_id = ? AND target = ?", (event_id, target)
            )
        return self._row(found[0]) if found else None

    def rows(self, state: str | None = None, target: str | None = None, limit: int = 100) -> list[Delivery]:
        where, params = self._where(state, target)
        found = self._read(f"SELECT {COLUMNS} FROM deliveries{where} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [self._row(values) for values in found]

    @staticmethod
    def _where(state: str | None, target: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if target is not None:
            clauses.append("target = ?")
            params.append(target)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def stats(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for target, state, count in self._read("SELECT target, state, COUNT(*) FROM deliveries GROUP BY target, state"):
            counts.setdefault(target, {s: 0 for s in (PENDING, DELIVERED, DEAD)})[state] = count
        return counts

    def retry(self, keys: Sequence[str] = (), *, all_dead: bool = False, now: float | None = None) -> int:
        now = time.time() if now is None else now
        ids = [row.id for key in keys if (row := self.status(key)) is not None and row.state == DEAD]
        with self._tx() as db:
            reset = (
                "state = 'pending', attempts = 0, next_at = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL"
            )
            changed = 0
            if all_dead:
                changed += db.execute(f"UPDATE deliveries SET {reset} WHERE state = 'dead'", (now, now)).rowcount
            for id_ in ids:
                changed += db.execute(
                    f"UPDATE deliveries SET {reset} WHERE id = ? AND state = 'dead'", (now, now, id_)
                ).rowcount
        return changed

    def make_due(self, now: float) -> int:
        with self._tx() as db:
            return db.execute(
                "UPDATE deliveries SET next_at = ? WHERE state = 'pending' AND next_at > ?", (now, now)
            ).rowcount

    def purge(self, older_than: float, states: Sequence[str] = (DELIVERED, DEAD)) -> int:
        marks = ",".join("?" * len(states))
        with self._tx() as db:
            return db.execute(
                f"DELETE FROM deliveries WHERE state IN ({marks}) AND updated_at < ?",
                (*states, time.time() - older_than),
            ).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
