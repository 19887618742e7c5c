"""The SQLite outbox's schema and the SQL pieces its store and noise-control halves share.

``deliveries`` holds one row per (event id, target) in every state (pending, held, delivered, dead,
merged) with the noise-control columns (dedup key hash and window, hold key, critical, note); ``sends``
records each lane's sends (rate limits), ``holds`` each bundle's last release (``group_interval``).
:func:`migrate` creates them, or rebuilds a file written before noise control (its rows keep their ids).
"""

from __future__ import annotations

import os
import socket
import sqlite3

__all__ = ["COLUMNS", "FREE_LEASE", "IN_LANE", "lane_params", "migrate", "owner_is_dead"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    target TEXT NOT NULL,
    channel TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'held', 'delivered', 'dead', 'merged')),
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
    dedup_key TEXT,
    dedup_until REAL,
    hold TEXT,
    critical INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    UNIQUE (event_id, target)
);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, target, next_at);
CREATE INDEX IF NOT EXISTS deliveries_dedup ON deliveries (target, dedup_key);
CREATE TABLE IF NOT EXISTS sends (lane TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sends_lane ON sends (lane, at);
CREATE TABLE IF NOT EXISTS holds (target TEXT NOT NULL, hold TEXT NOT NULL, released_at REAL NOT NULL,
    PRIMARY KEY (target, hold));
"""
#: The columns of a file written before noise control (copied as they are when it is migrated).
OLD_COLUMNS = (
    "id, event_id, target, channel, event_type, state, attempts, next_at, created_at, updated_at, last_status, "
    "last_error, lease_owner, lease_until, message, event"
)
COLUMNS = (
    "id, event_id, target, state, attempts, next_at, created_at, updated_at, last_status, last_error, "
    "lease_owner, lease_until, message, event, dedup_key, dedup_until, hold, critical, note"
)
#: A row whose lease anyone may take now (the ``?`` are: now, then the dead owners' names).
FREE_LEASE = "(lease_owner IS NULL OR lease_until < ? OR lease_owner IN ({dead}))"


#: A row in a lane: the target's own deliveries and its ``<target>/user``, ``<target>/recipients`` ones.
IN_LANE = "(target = ? OR target = ? || '/user' OR target = ? || '/recipients')"


def lane_params(lane: str) -> tuple[str, str, str]:
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


def migrate(db: sqlite3.Connection) -> None:
    """Create the tables, or rebuild a file from before noise control (its state CHECK lacks ``held``)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        found = db.execute("SELECT sql FROM sqlite_master WHERE name = 'deliveries'").fetchone()
        if found is not None and "'held'" not in found[0]:
            db.execute("ALTER TABLE deliveries RENAME TO deliveries_old")
            db.execute("DROP INDEX IF EXISTS deliveries_due")
            db.execute(SCHEMA.strip().rstrip(";"))
            db.execute(f"INSERT INTO deliveries ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM deliveries_old")
            db.execute("DROP TABLE deliveries_old")
        else:
            db.execute(SCHEMA.strip().rstrip(";"))
        for statement in INDEXES.split(";"):
            if statement.strip():
                db.execute(statement)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
