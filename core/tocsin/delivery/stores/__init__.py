"""The outbox: one interface (:class:`Outbox`), several stores (``memory``, ``sqlite``).

A store is a ledger of deliveries keyed ``"<event id>:<target name>"`` and a queue at once:

* ``put`` records new deliveries (durably, for a durable store, before any attempt); a key already
  there is not added twice, so a delivered (event, target) is never sent again;
* ``claim`` hands the dispatcher due deliveries under a *lease* (an owner and an expiry), at most a
  given number per target; a lease that expired, or whose owner process on this host died, is free;
* ``finish`` records an attempt's outcome: delivered, pending again (retry at a time), or dead;
* ``status``/``wait``/``rows``/``stats``/``retry``/``purge`` serve callers and ``tocsin outbox``.

States: ``pending`` → ``delivered`` | ``dead``. The dispatcher does not know which store it runs on.
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
    "PENDING",
    "STATES",
    "Delivery",
    "Outbox",
    "event_from_dict",
    "event_to_dict",
    "lane_of",
    "open_store",
]

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATES = (PENDING, DELIVERED, DEAD)

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

    @property
    def key(self) -> str:
        return delivery_key(self.event_id, self.target)

    @property
    def channel(self) -> str:
        return self.message.channel

    def to_dict(self) -> dict[str, Any]:
        """Every column, as ``tocsin outbox show --json`` prints it."""
        data = attrs.asdict(self, filter=lambda a, _: a.name not in ("message", "event"))
        return {"key": self.key, "channel": self.channel, **data, "message": self.message.to_dict()}


class Outbox(abc.ABC):
    """Where deliveries wait. Every method is thread-safe; see the module docstring for the contract."""

    #: Whether deliveries outlive the process.
    durable: bool = False
    #: Whether calls may block on I/O (the dispatcher then runs them off its event loop).
    blocking: bool = False
    #: How ``tocsin outbox`` names it.
    label: str = "memory"

    @abc.abstractmethod
    def put(self, deliveries: Sequence[Delivery]) -> dict[str, Delivery]:
        """Add these; returns the rows already there for keys that were (a dead one is made pending again)."""

    @abc.abstractmethod
    def claim(self, owner: str, quotas: Mapping[str, int], limit: int, now: float, lease: float) -> list[Delivery]:
        """Up to ``quotas[lane]`` due pending rows per lane (:func:`lane_of`), ``limit`` in all, leased to ``owner``."""

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
    def next_due(self, lanes: Iterable[str]) -> float | None:
        """The earliest next attempt time among these lanes' pending rows (not leased to someone else)."""

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
    def make_due(self, now: float) -> int:
        """Every pending row due now (``tocsin outbox drain``); returns how many."""

    @abc.abstractmethod
    def purge(self, older_than: float, states: Sequence[str] = (DELIVERED, DEAD)) -> int:
        """Delete rows in ``states`` last updated more than ``older_than`` seconds ago; returns how many."""

    def wait(self, keys: Sequence[str], timeout: float | None = None, poll: float = 0.05) -> bool:
        """Block until none of these rows is pending (True), or ``timeout`` passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rows = [self.status(key) for key in keys]
            if all(row is None or row.state != PENDING for row in rows):
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
