"""Noise control's decisions for one delivery: duplicate, critical, held for which bundle, and digests.

:func:`plan` fills a new :class:`~tocsin.delivery.stores.Delivery` from its target's
:class:`~tocsin.noise_config.NoisePolicy` before it is put in the outbox, in this order:

1. **critical** (the event's ``critical`` flag, or its severity in the target's ``critical`` list):
   nothing below applies, except that it still waits for a rate limit's window, in order;
2. **de-duplication**: the rendered ``dedup_key`` (hashed) and the end of its window; the store
   answers a later row with the same key in the window with the original ("duplicate of <event id>");
3. **quiet hours**: outside ``allow``, held (bundle ``quiet_hours``) until the quiet period ends;
4. **grouping**: with ``group_by``, held (bundle ``group:<hash of the values>``) for ``group_wait``, or
   until ``group_interval`` after the group's last digest (Alertmanager's semantics).

The rate limit is applied later, when the dispatcher takes due rows (:meth:`Outbox.take`). A bundle is
released as one digest event (:func:`digest_for`, built by ``tocsin.digest.digest_event``), formatted for
the target like any event; a bundle of one is sent as itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..digest import digest_event
from ..events import Event
from ..messages import Message, Outcome, Receipt
from ..noise_config import KEY_TEMPLATES, Noise, NoisePolicy
from .stores import HELD, RATE_LIMIT, Delivery, event_from_dict, event_to_dict

if TYPE_CHECKING:
    from ..config import Config, Target
    from ..plugins import PluginRegistry

__all__ = [
    "QUIET_HOURS",
    "NoiseControl",
    "dedup_key",
    "digest_for",
    "group_values",
    "held_reason",
    "is_critical",
    "plan",
]

QUIET_HOURS = "quiet_hours"
_GROUP = "group:"


def is_critical(event: Event, policy: NoisePolicy) -> bool:
    """Whether noise control lets ``event`` through (its flag, or its severity in the target's ``critical``)."""
    return bool(event.critical) or str(event.severity) in policy.critical


def dedup_key(event: Event, policy: NoisePolicy) -> str:
    """The de-duplication key of ``event`` as text: the ``dedup_key`` template rendered over the event, or
    by default its type with ``run_id``/``job_id`` (else its own id: only a replay is a duplicate)."""
    if policy.dedup_key:
        context = {
            "type": event.type,
            "id": event.id,
            "severity": str(event.severity),
            "title": event.title,
            "data": event.data,
            "user": event.user,
            "source": event.source,
        }
        return KEY_TEMPLATES.from_string(policy.dedup_key).render(context)
    for name in ("run_id", "job_id"):
        value = event.data.get(name)
        if value not in (None, ""):
            return f"{event.type}:{name}={value}"
    return f"{event.type}:id={event.id}"


def field_value(event: Event, path: str) -> str:
    """``type``, ``severity``, ``data.queue``, ``user.name``, ``source.instance``: the value as text ("" if none)."""
    head, _, rest = path.partition(".")
    value: Any = event.data if head == "data" else getattr(event, head, None)
    for part in rest.split(".") if rest else ():
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return "" if value is None else str(value)


def group_values(event: Event, group_by: Sequence[str]) -> dict[str, str]:
    """The values that make ``event``'s group: ``{"type": "job_failed", "data.queue": "gpu"}``."""
    return {path: field_value(event, path) for path in group_by}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def plan(row: Delivery, event: Event, policy: NoisePolicy, now: float) -> Delivery:
    """Fill ``row``'s noise fields (see the module docstring); returns it."""
    if policy.quiet:
        return row
    if is_critical(event, policy):
        row.critical = True
        return row
    if policy.dedup_window:
        row.dedup_key = _hash(dedup_key(event, policy))
        row.dedup_until = now + policy.dedup_window
    if policy.quiet_hours is not None and str(event.severity) not in policy.quiet_hours.allow:
        until = policy.quiet_hours.until(datetime.fromtimestamp(now, timezone.utc))
        if until is not None:
            row.state, row.hold, row.next_at = HELD, QUIET_HOURS, until.timestamp()
            return row
    if policy.group_by:
        values = group_values(event, policy.group_by)
        row.state, row.hold = HELD, _GROUP + _hash(json.dumps(values, sort_keys=True))
        row.next_at, row.hold_interval = now + policy.group_wait, policy.group_interval
    return row


def reason_of(hold: str | None) -> str:
    """The digest reason of a bundle key: ``"rate_limit"``, ``"quiet_hours"`` or ``"group"``."""
    if hold in (RATE_LIMIT, QUIET_HOURS):
        return str(hold)
    return "group"


def held_reason(row: Delivery, policy: NoisePolicy) -> str:
    """A held row's receipt text: ``held until 2026-12-03 21:04:05 UTC (rate limit 30/1m)``."""
    until = datetime.fromtimestamp(row.next_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    why = {
        RATE_LIMIT: f"rate limit {policy.rate_limit}",
        QUIET_HOURS: "quiet hours",
    }.get(row.hold or "", "grouped with like events")
    return f"held until {until} ({why}), then sent in a digest"


def digest_for(rows: Sequence[Delivery], policy: NoisePolicy, now: float) -> Event:
    """The digest event of a released bundle (its rows' events, oldest first)."""
    events = sorted(
        (event_from_dict(r.event, r.event_id, r.message.event_type) for r in rows), key=lambda e: e.occurred_at
    )
    reason = reason_of(rows[0].hold)
    group = group_values(events[0], policy.group_by) if reason == "group" else None
    since = datetime.fromtimestamp(min(r.created_at for r in rows), timezone.utc)
    return digest_event(
        events, reason=reason, until=datetime.fromtimestamp(now, timezone.utc), since=since, group=group
    )


class NoiseControl:
    """A notifier's noise control: each target's policy, the plan of each new delivery, and digests.

    ``format(event, target)`` is the notifier's formatting (a digest is formatted like any event);
    ``prepare(event)`` fills the digest's source like any event's; ``release(attachments)`` frees the
    files of rows merged into a digest; ``target(name)`` resolves a delivery's target. ``clock`` gives
    the time (``time.time``; tests pass a fake one).
    """

    def __init__(
        self,
        config: Config,
        registry: PluginRegistry,
        *,
        format: Callable[[Event, Target], Message],
        prepare: Callable[[Event], Event],
        release: Callable[[Sequence[Any]], None],
        target: Callable[[str], Target],
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.clock = clock or time.time
        self._format, self._prepare, self._release, self._target = format, prepare, release, target
        self._policies: dict[tuple[str, str], NoisePolicy] = {}

    def policy(self, target: Target) -> NoisePolicy:
        """``target``'s noise policy: its keys over ``[notifications]``'s over its channel's rate limit."""
        key = (target.name, target.channel)
        found = self._policies.get(key)
        if found is None:
            try:
                channel_rate = self.registry.channel(target.channel).spec.default_rate_limit
            except Exception:
                channel_rate = None
            found = self._policies[key] = Noise.resolve(self.config.noise, target.noise, channel_rate)
        return found

    def plan(self, row: Delivery, event: Event, target: Target, now: float) -> Delivery:
        """:func:`plan` with ``target``'s policy."""
        return plan(row, event, self.policy(target), now)

    def held_receipt(self, row: Delivery) -> Receipt:
        """The receipt of a row held at submission (quiet hours, grouping)."""
        reason = held_reason(row, self.policy(self._target(row.target)))
        return Receipt(row.target, row.channel, Outcome.HELD, reason=reason)

    def digest(self, target: Target, rows: list[Delivery], now: float) -> Delivery:
        """The digest row of a released bundle, formatted for ``target`` (not stored yet)."""
        event = self._prepare(digest_for(rows, self.policy(target), now))
        message = self._format(event, target)
        stored = event_to_dict(event) if self.config.delivery.durable else event
        return Delivery(event.id, target.name, message, stored, next_at=now, created_at=now, critical=True)

    def merged(self, rows: list[Delivery], digest: Delivery) -> None:
        """``rows`` became ``digest``: their own messages will never be sent, so their files are freed."""
        for row in rows:
            self._release(row.message.attachments)

    def preview(self, target: Target, events: Sequence[Event], reason: str = "group") -> Message:
        """What ``target`` would receive as the digest of ``events`` (``tocsin render --digest``)."""
        now = self.clock()
        policy = self.policy(target)
        group = group_values(events[0], policy.group_by) if reason == "group" and policy.group_by else None
        since = min(e.occurred_at for e in events)
        until = datetime.fromtimestamp(now, timezone.utc)
        return self._format(
            self._prepare(digest_event(events, reason=reason, until=until, since=since, group=group)), target
        )
