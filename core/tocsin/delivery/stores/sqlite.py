"""The ``sqlite`` store: a durable outbox in one file, shared safely by the processes of one host.

One row per (event id, target), unique; the formatted Message and the event are stored as JSON (they
hold no secret: targets are resolved by name from the config at delivery time), with the attempts, last
HTTP status, last (redacted) error and next attempt time. WAL mode, so readers never wait for the
writer; every claim is one ``BEGIN IMMEDIATE`` transaction, so two processes never lease the same row.
A lease expires (``[delivery] lease``), and a lease whose owner was a process of this host that no
longer runs is free at once, so a crashed process's deliveries are taken over.

Noise control lives in the same file, so it holds across processes: held rows (state ``held``) and
their digests are rows of ``deliveries``; ``sends`` records when each lane sent (rate limits), ``holds``
when each bundle was last released (``group_interval``). A file written before noise control existed is
migrated in place on first open (one transaction; its rows keep their ids).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ...errors import TocsinError
from ...messages import Message
from . import DEAD, DELIVERED, HELD, MERGED, PENDING, STATES, Delivery, Outbox
from .sqlite_noise import NoiseSql
from .sqlite_schema import COLUMNS, IN_LANE, lane_params, migrate, owner_is_dead

__all__ = ["SqliteOutbox", "owner_is_dead"]


class SqliteOutbox(NoiseSql, Outbox):
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
            migrate(self._db)
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
            values[:14]
        )
        dedup_key, dedup_until, hold, critical, note = values[14:]
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
            dedup_key=dedup_key,
            dedup_until=dedup_until,
            hold=hold,
            critical=bool(critical),
            note=note,
        )

    def put(self, deliveries: Sequence[Delivery], now: float | None = None) -> dict[str, Delivery]:
        existing: dict[str, Delivery] = {}
        now = time.time() if now is None else now
        with self._tx() as db:
            for row in deliveries:
                old = db.execute(
                    f"SELECT {COLUMNS} FROM deliveries WHERE event_id = ? AND target = ?", (row.event_id, row.target)
                ).fetchone()
                if old is not None:
                    existing[row.key] = self._row(old)
                    if old[3] == DEAD:  # submitted again: a new round of attempts
                        db.execute(
                            "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = ?, updated_at = ?, "
                            "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                            (now, now, old[0]),
                        )
                    continue
                original = self._duplicate_of(db, row, now)
                if original is not None:
                    existing[row.key] = original
                    continue
                if row.state == HELD:
                    self._join(db, row)
                cursor = db.execute(
                    "INSERT INTO deliveries (event_id, target, channel, event_type, state, attempts, next_at, "
                    "created_at, updated_at, message, event, dedup_key, dedup_until, hold, critical, note) "
                    "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.event_id,
                        row.target,
                        row.channel,
                        row.message.event_type,
                        row.state,
                        row.next_at,
                        row.created_at,
                        now,
                        json.dumps(row.message.to_dict(), ensure_ascii=False),
                        json.dumps(row.event, ensure_ascii=False, default=str),
                        row.dedup_key,
                        row.dedup_until,
                        row.hold,
                        int(row.critical),
                        row.note,
                    ),
                )
                row.id = cursor.lastrowid
        return existing

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
                f"WHERE lease_owner = ? AND state IN ('pending', 'held'){only}",
                (owner,) if delivery is None else (owner, delivery.id),
            )

    def next_due(self, lanes: Iterable[str], states: Sequence[str] = (PENDING, HELD)) -> float | None:
        names = list(lanes)
        if not names or not states:
            return None
        where = " OR ".join([IN_LANE] * len(names))
        marks = ",".join("?" * len(states))
        ((due,),) = self._read(
            "SELECT MIN(CASE WHEN lease_until > next_at THEN lease_until ELSE next_at END) FROM deliveries "
            f"WHERE state IN ({marks}) AND ({where})",
            [*states, *(param for name in names for param in lane_params(name))],
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
            counts.setdefault(target, {s: 0 for s in STATES})[state] = count
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

    def make_due(self, now: float, states: Sequence[str] = (PENDING, HELD)) -> int:
        marks = ",".join("?" * len(states))
        with self._tx() as db:
            return db.execute(
                f"UPDATE deliveries SET next_at = ? WHERE state IN ({marks}) AND next_at > ?", (now, *states, now)
            ).rowcount

    def purge(self, older_than: float, states: Sequence[str] = (DELIVERED, DEAD, MERGED)) -> int:
        marks = ",".join("?" * len(states))
        with self._tx() as db:
            db.execute("DELETE FROM holds WHERE released_at < ?", (time.time() - older_than,))  # old group timings
            return db.execute(
                f"DELETE FROM deliveries WHERE state IN ({marks}) AND updated_at < ?",
                (*states, time.time() - older_than),
            ).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
