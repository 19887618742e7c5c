"""Routing: which targets an event goes to, and why every other one was skipped. One function, :func:`route`.

The model, in the order it is applied (README "Routing" explains it for users; ``tocsin route`` shows it):

1. **Master switch**: ``[notifications] enabled = false`` skips everything.
2. **Selection**, by exactly one of:

   * ``targets=`` / ``--target NAME``: those targets, whatever their rules — but never one with
     ``enabled = false``;
   * ``subscriptions=[Subscription("ops-mail", when="failure"), …]``: those targets, each when its
     subscription's ``when`` holds (and the target is enabled);
   * the config: ``[events.<type>] enabled = false`` skips the type; else the *global set* is the
     type's ``[events.<type>] targets`` override, else ``[notifications] default_targets``, else every
     target. A target that belongs to a user (``[users.<name>] targets``) is not in the global set: it
     gets the events that name its user (``Event.user`` or ``Event.users``). With
     ``[notifications] only_user``, only that user's targets are considered. Each candidate then
     applies its own ``enabled``, ``events``, ``when`` and ``users``.

   ``extra_targets`` (destinations a submitter adds) are always candidates, with their own rules.
3. **People** (channels that address people, i.e. ``Channel(personal=True)``: email). For each such
   target chosen above:

   * ``[events.<type>] notify_user = "also" | "only"``: a separate message to the event users' own
     addresses (their ``email``, or their ``[users.<name>] email``), delivered as ``<target>/user``;
     with ``"only"`` every admin delivery of the event (all channels) is skipped;
   * the event's own ``recipients``: a separate message to them as ``<target>/recipients``, when the
     target has ``event_recipients = "also"`` or ``"only"``, the type is in ``recipient_scope`` and in
     the event's ``recipient_events`` (default: ``[notifications] recipient_events``). With ``"only"``
     the target's configured recipients get nothing.

   A separate message never shares a To: line with the configured recipients: its target is the
   configured one with ``direct_to`` set, and the channel sends to those addresses alone.
4. **Broken targets** (:class:`~tocsin.config.BrokenTarget`, kept by a non-strict load): one that the
   event would reach (named, subscribed, or by its readable routing keys) gets a *failed* receipt with
   its config message, so one unusable target never silences the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from fnmatch import fnmatchcase
from typing import Any

import attrs

from .config import Config, Target, _to_when
from .errors import ConfigError
from .events import Event
from .messages import Outcome, Receipt
from .routing_config import EventSettings, UserEntry

__all__ = ["Routes", "Subscription", "delivery_order", "route", "skip_reason"]

#: Suffixes of the separate deliveries to people: ``ops-mail/user``, ``ops-mail/recipients``.
USER_SUFFIX, RECIPIENTS_SUFFIX = "/user", "/recipients"


@attrs.frozen
class Subscription:
    """One target a submitter picks for one event, and when it wants it (a per-job channel choice).

    ``when`` is ``"always"``, ``"success"``, ``"failure"`` (or any severity), or a list of severities.

    >>> Subscription("ops-mail", when="failure")
    Subscription(target='ops-mail', when=('failure',))
    """

    target: str
    when: str | tuple[str, ...] = attrs.field(default="always", converter=_to_when)


@attrs.frozen
class Routes:
    """What :func:`route` decided: the deliveries to make, a skipped receipt for the others, and why.

    ``targets`` are in config order, each separate delivery to people right after its target.
    Unpacks as ``targets, skipped``.
    """

    targets: tuple[Target, ...] = ()
    skipped: tuple[Receipt, ...] = ()
    reasons: dict[str, str] = attrs.field(factory=dict)
    #: Broken targets the event would reach: failed receipts carrying their config message.
    failed: tuple[Receipt, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        yield list(self.targets)
        yield list(self.skipped)


def skip_reason(event: Event, target: Target) -> str | None:
    """Why ``target``'s own rules refuse ``event``, or None when they take it.

    ``events`` matches the type by name or glob (``"*"``, ``job_*``); ``when`` is ``"always"`` or a list
    of severities; ``users``, when set, must name one of the event's users (by name, email or id).
    """
    if not target.enabled:
        return "target disabled"
    if not any(fnmatchcase(event.type, pattern) for pattern in target.events):
        return f"event {event.type} not in events"
    if target.when != "always" and event.severity.value not in target.when:
        return f"severity {event.severity.value} not in when"
    if target.users:
        people = event.all_users
        if not people:
            return "event has no user and users is set"
        if not any(user.matches(wanted) for user in people for wanted in target.users):
            return f"user {', '.join(u.label for u in people)} not in users"
    return None


class _Decision:
    """The routing result being built: chosen targets with why, skipped ones with why."""

    def __init__(self) -> None:
        self.chosen: list[Target] = []
        self.reasons: dict[str, str] = {}
        self.skipped: list[Receipt] = []

    def send(self, target: Target, why: str) -> None:
        self.chosen.append(target)
        self.reasons[target.name] = why

    def skip(self, target: Target | str, reason: str, channel: str = "") -> None:
        name, channel = (target.name, target.channel) if isinstance(target, Target) else (target, channel)
        self.skipped.append(Receipt(name, channel, Outcome.SKIPPED, reason=reason))

    def filter(self, target: Target, event: Event, why: str) -> None:
        reason = skip_reason(event, target)
        if reason is None:
            self.send(target, why)
        else:
            self.skip(target, reason)


def route(
    event: Event,
    config: Config,
    *,
    targets: Sequence[str] | None = None,
    extra_targets: Sequence[Target] = (),
    subscriptions: Sequence[Subscription] | None = None,
    personal: Callable[[Target], bool] = lambda target: False,
) -> Routes:
    """The deliveries ``event`` gets under ``config`` (see the module docstring for the model).

    ``extra_targets`` must already be structured Targets; ``personal`` tells whether a target's channel
    addresses people. Raises ConfigError for an unknown target name or an extra target whose name is taken.
    """
    decision = _Decision()
    clash = {t.name for t in extra_targets} & {t.name for t in config.targets}
    if clash:
        raise ConfigError(f"extra_targets: names already used by configured targets: {sorted(clash)}")
    if targets and subscriptions is not None:
        raise ConfigError("give targets or subscriptions, not both")
    settings = EventSettings.for_type(config.events, event.type)
    broken = {entry.name: entry for entry in config.broken}
    failed: list[Receipt] = []
    if targets:
        for name in dict.fromkeys(targets):
            if name in broken:
                failed.append(Receipt(name, broken[name].channel, Outcome.FAILED, error=broken[name].error))
                continue
            target = config.target(name)
            if target.enabled:
                decision.send(target, "named by --target")
            else:
                decision.skip(target, "target disabled (enabled = false); --target does not override it")
    elif subscriptions is not None:
        for subscription in subscriptions:
            entry = broken.get(subscription.target)
            if entry is not None:
                failed.append(Receipt(entry.name, entry.channel, Outcome.FAILED, error=entry.error))
                continue
            _subscribed(decision, event, config.target(subscription.target), subscription)
    else:
        _configured(decision, event, config, settings)
        for entry in config.broken:
            reason = skip_reason(event, entry.routing) if entry.routing is not None else None
            if not settings.enabled or reason is not None:
                decision.skip(entry.name, reason or f"event type {event.type} disabled", entry.channel)
            else:
                failed.append(Receipt(entry.name, entry.channel, Outcome.FAILED, error=entry.error))
    for target in extra_targets:
        decision.filter(target, event, "extra target of this submission")
    _people(decision, event, config, settings, personal)
    if not config.settings.enabled:
        for target in decision.chosen:
            decision.skip(target, "notifications disabled")
        decision.chosen = []
        failed = []
    key = delivery_order([*config.order(), *(t.name for t in extra_targets)])
    decision.chosen.sort(key=lambda t: key(t.name))
    decision.skipped.sort(key=lambda r: key(r.target))
    return Routes(tuple(decision.chosen), tuple(decision.skipped), decision.reasons, tuple(failed))


def delivery_order(targets: Sequence[Target | str]) -> Callable[[str], tuple[int, str]]:
    """A sort key for delivery names: config order, each ``<target>/user`` right after its target."""
    order = {t if isinstance(t, str) else t.name: i for i, t in enumerate(targets)}
    return lambda name: (order.get(name, order.get(name.rsplit("/", 1)[0], len(order))), name)


def _subscribed(decision: _Decision, event: Event, target: Target, subscription: Subscription) -> None:
    if not target.enabled:
        decision.skip(target, "target disabled (enabled = false)")
    elif subscription.when != "always" and event.severity.value not in subscription.when:
        decision.skip(target, f"severity {event.severity.value} not in the subscription's when ({_when(subscription)})")
    else:
        decision.send(target, f"subscribed (when {_when(subscription)})")


def _when(subscription: Subscription) -> str:
    return subscription.when if isinstance(subscription.when, str) else ", ".join(subscription.when)


def _configured(decision: _Decision, event: Event, config: Config, settings: EventSettings) -> None:
    if not settings.enabled:
        for target in config.targets:
            decision.skip(target, f"event type {event.type} disabled by {settings.set_by['enabled']}")
        return
    owners = {name: user for user in config.users for name in user.targets}
    only = config.settings.only_user
    if settings.targets is not None:
        global_set, where = settings.targets, f"{settings.set_by['targets']} targets"
    else:
        global_set, where = config.settings.default_targets, "notifications.default_targets"
    for target in config.targets:
        owner = owners.get(target.name)
        if only is not None and (owner is None or only.casefold() not in owner.names()):
            decision.skip(target, f"only_user = {only}: not a target of user {only}")
        elif owner is not None:
            if only is not None or _names(event, owner):
                decision.filter(target, event, f"a target of user {owner.name}")
            else:
                decision.skip(target, f"belongs to user {owner.name}, whom the event does not name")
        elif global_set is not None and target.name not in global_set:
            decision.skip(target, f"not in {where}")
        else:
            decision.filter(target, event, f"in {where}" if global_set is not None else "its own rules match")


def _names(event: Event, user: UserEntry) -> bool:
    return any(person.matches(name) for person in event.all_users for name in user.names())


def _addresses(event: Event, config: Config) -> tuple[str, ...]:
    """The event users' own addresses: their email, else their ``[users.<name>] email``."""
    found = []
    for person in event.all_users:
        email = person.email
        if not email:
            entry = next((u for u in config.users if any(person.matches(n) for n in u.names())), None)
            email = entry.email if entry is not None else None
        if email:
            found.append(email)
    return tuple(dict.fromkeys(found))


def _people(
    decision: _Decision, event: Event, config: Config, settings: EventSettings, personal: Callable[[Target], bool]
) -> None:
    mode = settings.notify_user
    users = _addresses(event, config)
    recipients = _allowed_recipients(event, config)
    admins = list(decision.chosen)
    if mode == "only":
        decision.chosen = []
        for target in admins:
            decision.skip(target, f"{settings.set_by['notify_user']} notify_user = only: only the user's own message")
    for target in admins:
        if not personal(target):
            continue
        if mode != "off":
            if users:
                decision.send(
                    attrs.evolve(target, name=target.name + USER_SUFFIX, direct_to=users),
                    f"{settings.set_by['notify_user']} notify_user = {mode}: the event user's own message",
                )
            else:
                decision.skip(target.name + USER_SUFFIX, "notify_user: the event's user has no email", target.channel)
        if target.event_recipients == "ignore":
            continue
        if target.event_recipients == "only" and mode != "only":
            decision.chosen.remove(target)
            decision.skip(target, "event_recipients = only: only the event's own recipients get its messages")
        name = target.name + RECIPIENTS_SUFFIX
        if isinstance(recipients, str):
            if event.recipients or target.event_recipients == "only":
                decision.skip(name, recipients, target.channel)
        else:
            decision.send(attrs.evolve(target, name=name, direct_to=recipients), "the event's own recipients")


def _allowed_recipients(event: Event, config: Config) -> tuple[str, ...] | str:
    """The event's recipients, or why they get nothing for this type."""
    settings = config.settings
    if not event.recipients:
        return "the event names no recipients"
    if not any(fnmatchcase(event.type, pattern) for pattern in settings.recipient_scope):
        return f"event {event.type} not in recipient_scope ({', '.join(settings.recipient_scope)})"
    wanted, source = (
        (event.recipient_events, "the event's recipient_events")
        if event.recipient_events
        else (settings.recipient_events, "notifications.recipient_events")
    )
    if not any(fnmatchcase(event.type, pattern) for pattern in wanted):
        return f"event {event.type} not in {source}"
    return tuple(dict.fromkeys(event.recipients))
