"""The outbox: one interface (:class:`Outbox`), several stores (``memory``, ``sqlite``).

A store is a ledger of deliveries keyed ``"<event id>:<target name>"`` and a queue at once:

* ``put`` records new deliveries (durably, for a durable store, before any attempt); a key already
  there is not added twice, so a delivered (event, target) is never sent again;
* ``claim`` hands the dispatcher due deliveries under a *lease* (an owner and an expiry), at most a
  given number per target; a lease that expired, or whose owner process on this host died, is free;
* ``finish`` records an attempt's outcome: delivered, pending again (retry at a time), or dead;
* ``status``/``wait``/``rows``/``stats``/``retry``/``purge`` serve callers and ``tocsin outbox``.

States: ``pending`` → ``delivered`` | ``dead``; noise control adds ``held`` → ``merged`` (see below).
The dispatcher does not know which store it runs on.

Noise control (:mod:`tocsin.delivery.noise` decides, the store keeps it atomic across processes):

* ``put`` skips a row whose ``dedup_key`` matches a live row of the same target whose ``dedup_until``
  has not passed (returned as "existing": the original row, with its own event id); a row put as
  ``held`` joins the held *bundle* of its (target, ``hold`` key) and its release time, or waits at least
  ``hold_interval`` after that bundle's last release (Alertmanager's ``group_interval``);
* ``take`` (the claim) keeps each lane under its rate limit (``limits``: the sends of every process are
  recorded in the store): beyond it, due first attempts are *held* under the ``rate_limit`` key until
  the window opens, other rows (critical ones, retries, digests) wait for it pending, in their order; a
  due bundle is one unit: all its rows are leased together and come back in ``Taken.bundles``;
* ``release_hold`` turns a leased bundle into its digest row (the rows become ``merged``, never
  dropped), or, for a bundle of one, makes that row pending again to be sent as itself.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import cattrs

from ...events import Event
from ...messages import Message
from ...text import json_safe

__all__ = [
    "DEAD",
    "DELIVERED",
    "HELD",
    "MERGED",
    "PENDING",
    "RATE_LIMIT",
    "STATES",
    "Delivery",
    "Outbox",
    "Taken",
    "event_from_dict",
    "event_to_dict",
    "lane_of",
    "open_at",
    "open_store",
]

PENDING, DELIVERED, DEAD, HELD, MERGED = "pending", "delivered", "dead", "held", "merged"
STATES = (PENDING, HELD, DELIVERED, DEAD, MERGED)
#: The hold key of deliveries held by a rate limit (one bundle per target).
RATE_LIMIT = "rate_limit"

_events = cattrs.Converter()
_events.register_unstructure_hook(datetime, lambda d: d.isoformat())
_events.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as JSON-able data (stored beside the message, for ``delivery_finished`` after a restart).

    Whatever its data holds (NaN, bytes, custom objects, 1,000-deep nesting), as :func:`tocsin.text.json_safe`
    makes it, so storing an event can never fail.
    """
    return _events.unstructure(attrs.evolve(event, data=json_safe(event.data)))


def event_from_dict(data: Mapping[str, Any] | Event | None, event_id: str, event_type: str) -> Event:
    """The event :func:`event_to_dict` wrote (the memory store keeps the Event itself); a bare one with the
    same id and type if it cannot be read."""
    if isinstance(data, Event):
        return data
    try:
        return _events.structure(dict(data or {}), Event)
    except Exception:
        return Event(event_type, id=event_id)


def lane_of(target: str) -> str:
    """The lane a delivery waits in: its target's, also for the separate ``<target>/user`` and
    ``<target>/recipients`` messages routing makes for people."""
    base, sep, suffix = target.rpartition("/")
    return base if sep and suffix in ("user", "recipients") else target


def delivery_key(event_id: str, target: str) -> str:
    """The ledger key of one (event, target) delivery."""
    return f"{event_id}:{target}"


@attrs.define
class Delivery:
    """One (event, target) delivery: its formatted message and where it stands."""

    event_id: str
    target: str
    message: Message
    #: The event as JSON-able data (an Event object in the memory store), for ``delivery_finished``.
    event: Any = attrs.field(factory=dict)
    state: str = PENDING
    attempts: int = 0
    next_at: float = attrs.field(factory=time.time)
    created_at: float = attrs.field(factory=time.time)
    updated_at: float = attrs.field(factory=time.time)
    last_status: int | None = None
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: float | None = None
    id: int | None = None
    #: Noise control: a hash of the rendered dedup key, and until when a later row with it is a duplicate.
    dedup_key: str | None = None
    dedup_until: float | None = None
    #: The bundle a held row waits in: ``rate_limit``, ``quiet_hours`` or ``group:<hash>``.
    hold: str | None = None
    #: Critical rows are never held or merged (they still wait for a rate limit's window, in order).
    critical: bool = False
    #: What noise control did: ``merged into digest <event id>``, ``digest of N deliveries``.
    note: str | None = None
    #: Put only (not stored): the least time between two releases of this row's bundle.
    hold_interval: float = 0.0

    @property
    def key(self) -> str:
        return delivery_key(self.event_id, self.target)

    @property
    def mergeable(self) -> bool:
        """Whether a rate limit may hold this row for a digest: a first attempt of a non-critical event,
        not itself a digest."""
        return not self.critical and self.attempts == 0 and self.message.event_type != "digest"

    @property
    def channel(self) -> str:
        return self.message.channel

    def to_dict(self) -> dict[str, Any]:
        """Every column, as ``tocsin outbox show --json`` prints it."""
        data = attrs.asdict(self, filter=lambda a, _: a.name not in ("message", "event", "hold_interval"))
        return {"key": self.key, "channel": self.channel, **data, "message": self.message.to_dict()}


@attrs.define
class Taken:
    """What one :meth:`Outbox.take` did: ``rows`` leased for an attempt, ``bundles`` (each a list of
    held rows of one target and hold key, leased together, to become one digest) and ``held``: rows
    it held just now because their lane's rate limit was reached (for their receipts)."""

    rows: list[Delivery] = attrs.field(factory=list)
    bundles: list[list[Delivery]] = attrs.field(factory=list)
    held: list[Delivery] = attrs.field(factory=list)

    def __len__(self) -> int:
        return len(self.rows) + len(self.bundles)


def open_at(sends: Sequence[float], count: int, period: float, now: float) -> float:
    """When a lane that made ``sends`` (times, any order) may send again under ``count`` per ``period``."""
    recent = sorted(at for at in sends if at > now - period)
    if len(recent) < count:
        return now
    return recent[len(recent) - count] + period


class Outbox(abc.ABC):
    """Where deliveries wait. Every method is thread-safe; see the module docstring for the contract."""

    #: Whether deliveries outlive the process.
    durable: bool = False
    #: Whether calls may block on I/O (the dispatcher then runs them off its event loop).
    blocking: bool = False
    #: How ``tocsin outbox`` names it.
    label: str = "memory"

    @abc.abstractmethod
    def put(self, deliveries: Sequence[Delivery], now: float | None = None) -> dict[str, Delivery]:
        """Add these; returns the rows already there for keys that were (a dead one is made pending again),
        and for duplicates (a live row of the same target with the same ``dedup_key``) that row."""

    def claim(self, owner: str, quotas: Mapping[str, int], limit: int, now: float, lease: float) -> list[Delivery]:
        """Up to ``quotas[lane]`` due pending rows per lane (:func:`lane_of`), ``limit`` in all, leased to ``owner``."""
        return self.take(owner, quotas, limit, now, lease).rows

    @abc.abstractmethod
    def take(
        self,
        owner: str,
        quotas: Mapping[str, int],
        limit: int,
        now: float,
        lease: float,
        limits: Mapping[str, tuple[int, float]] | None = None,
    ) -> Taken:
        """:meth:`claim` with noise control: due held bundles too, each lane (``limits[lane]`` = (count,
        period)) kept under its rate limit; see the module docstring."""

    @abc.abstractmethod
    def release_hold(
        self, rows: Sequence[Delivery], owner: str, digest: Delivery | None, now: float
    ) -> Delivery | None:
        """Turn a leased bundle into ``digest`` (inserted pending, leased to ``owner``; the rows ``merged``),
        or with ``digest`` None make its one row pending (still leased) to be sent as itself. Returns the
        row to attempt, or None when the bundle changed meanwhile (another process took it)."""

    @abc.abstractmethod
    def fail_hold(self, rows: Sequence[Delivery], owner: str, error: str, now: float) -> int:
        """A leased bundle whose digest cannot be made: its rows become ``dead`` with ``error`` (never
        silent: ``tocsin outbox retry`` makes them pending again). Returns how many."""

    @abc.abstractmethod
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
        """Record an attempt: ``delivered``, ``dead``, or ``pending`` again from ``next_at``."""

    @abc.abstractmethod
    def release(self, owner: str, delivery: Delivery | None = None) -> None:
        """Give up ``delivery``'s lease, or every lease ``owner`` holds (a closing process), so others may
        take the rows at once."""

    @abc.abstractmethod
    def next_due(self, lanes: Iterable[str], states: Sequence[str] = (PENDING, HELD)) -> float | None:
        """The earliest next attempt (or release) time among these lanes' rows in ``states``."""

    @abc.abstractmethod
    def status(self, key: str) -> Delivery | None:
        """The row with this key (or id), if any."""

    @abc.abstractmethod
    def rows(self, state: str | None = None, target: str | None = None, limit: int = 100) -> list[Delivery]:
        """Rows, newest first."""

    @abc.abstractmethod
    def stats(self) -> dict[str, dict[str, int]]:
        """``{target: {state: count}}``."""

    @abc.abstractmethod
    def retry(self, keys: Sequence[str] = (), *, all_dead: bool = False, now: float | None = None) -> int:
        """Make these rows (ids or keys), or every dead one, pending and due now; returns how many."""

    @abc.abstractmethod
    def make_due(self, now: float, states: Sequence[str] = (PENDING, HELD)) -> int:
        """Every pending (and held) row due now (``tocsin outbox drain``); returns how many."""

    @abc.abstractmethod
    def purge(self, older_than: float, states: Sequence[str] = (DELIVERED, DEAD, MERGED)) -> int:
        """Delete rows in ``states`` last updated more than ``older_than`` seconds ago; returns how many."""

    def wait(self, keys: Sequence[str], timeout: float | None = None, poll: float = 0.05) -> bool:
        """Block until none of these rows is pending (True), or ``timeout`` passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rows = [self.status(key) for key in keys]
            if all(row is None or row.state != PENDING for row in rows):  # held: accounted, not waited for
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def close(self) -> None:  # noqa: B027 - optional
        """Release what the store holds open."""


def open_store(spec: str) -> Outbox:
    """The store ``[delivery] store`` names: ``"memory"`` or ``"sqlite:///path"`` (path already resolved)."""
    if spec == "memory":
        from .memory import MemoryOutbox

        return MemoryOutbox()
    if spec.startswith("sqlite:///"):
        from .sqlite import SqliteOutbox

        return SqliteOutbox(Path(spec[len("sqlite:///") :]))
    raise ValueError(f'unknown store {spec!r} (use "memory" or "sqlite:///path")')
