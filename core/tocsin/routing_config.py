"""The config's routing tables: ``[events.<type>]``, ``[users.<name>]``, and the checks on their names.

``[events.<pattern>]`` (a type name or a glob such as ``"job_*"``) sets, for the event types it matches,
``enabled``, ``targets`` (an override: only these targets get the type) and ``notify_user``
(``"off"``, ``"also"``, ``"only"``). Several tables may match one type: their keys are merged from the
least to the most specific (globs in file order, then the exact name), so ``[events."job_*"]`` can
switch a family off and ``[events.job_failed]`` turn one back on.

``[users.<name>]`` gives a user's ``email`` (for ``notify_user``) and the ``targets`` that belong to
them: such a target gets the events that name this user (see :mod:`tocsin.routing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Literal

import attrs

from .structure import Problems, describe, structure_attrs, suggest

__all__ = ["NOTIFY_USER", "EventRule", "EventSettings", "UserEntry", "check_names", "parse_events", "parse_users"]

#: The values of ``notify_user``: no separate message to the event's user, one besides the admins', or
#: only the user's (the admins' targets are skipped).
NOTIFY_USER = ("off", "also", "only")
_GLOB = set("*?[")


def _optional_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class EventRule:
    """One ``[events.<pattern>]`` table; a key left out (None) leaves the setting to other tables."""

    pattern: str = attrs.field(metadata={"doc": "The event type, or a glob such as job_*."})
    enabled: bool | None = attrs.field(default=None, metadata={"doc": "false: this event type is never sent."})
    targets: list[str] | None = attrs.field(
        default=None,
        converter=_optional_tuple,
        metadata={"doc": "Override: only these targets get this type (instead of default_targets)."},
    )
    notify_user: Literal["off", "also", "only"] | None = attrs.field(
        default=None,
        metadata={
            "doc": "A separate message to the event user's own address through the email targets the event "
            'uses: "also" besides the admins\', "only" instead of them, "off".'
        },
    )

    @property
    def is_glob(self) -> bool:
        return bool(_GLOB & set(self.pattern))

    def matches(self, event_type: str) -> bool:
        return fnmatchcase(event_type, self.pattern)


@attrs.frozen
class EventSettings:
    """What the ``[events.*]`` tables say about one event type, merged from those that match it."""

    enabled: bool = True
    targets: tuple[str, ...] | None = None
    notify_user: str = "off"
    #: For each key some table set: that table, as reasons quote it (``[events."job_*"]``).
    set_by: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def for_type(cls, rules: Iterable[EventRule], event_type: str) -> EventSettings:
        """The merged settings of the rules that match ``event_type`` (exact name last, so it wins)."""
        matching = sorted((r for r in rules if r.matches(event_type)), key=lambda r: not r.is_glob)
        merged: dict[str, Any] = {}
        set_by: dict[str, str] = {}
        for rule in matching:  # sorted() is stable: globs keep their file order
            for key in ("enabled", "targets", "notify_user"):
                value = getattr(rule, key)
                if value is not None:
                    merged[key] = value
                    set_by[key] = f"[events.{_quoted(rule.pattern)}]"
        return cls(**merged, set_by=set_by)


def _quoted(pattern: str) -> str:
    return pattern if pattern.replace("_", "a").isalnum() else f'"{pattern}"'


@attrs.frozen
class UserEntry:
    """One ``[users.<name>]`` table: the user's address and the targets that belong to them."""

    name: str = attrs.field(metadata={"doc": "The user's name, as events name them (or their email or id)."})
    email: str | None = attrs.field(default=None, metadata={"doc": "Where notify_user mails go."})
    id: str | None = attrs.field(default=None, metadata={"doc": "The user's id, as events may name them."})
    targets: list[str] = attrs.field(
        default=(),
        converter=lambda v: (v,) if isinstance(v, str) else tuple(v),
        metadata={"doc": "Targets that belong to this user: they get the events that name this user."},
    )

    def names(self) -> tuple[str, ...]:
        """Every way an event may name this user (name, email, id), casefolded."""
        return tuple(v.casefold() for v in (self.name, self.email, self.id) if v)


def _tables(raw: Any, key: str, problems: Problems) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(key, f"expected tables ([{key}.<name>]), got {describe(raw)}")
        return {}
    return dict(raw)


def parse_events(raw: Any, problems: Problems) -> tuple[EventRule, ...]:
    """The ``[events.<pattern>]`` tables as :class:`EventRule` objects, in file order."""
    rules = []
    for pattern, table in _tables(raw, "events", problems).items():
        at = f'events."{pattern}"' if set(pattern) & _GLOB else f"events.{pattern}"
        if not isinstance(table, Mapping):
            problems.add(at, f"expected a table, got {describe(table)}")
            continue
        rule = structure_attrs({"pattern": pattern, **table}, EventRule, at, problems)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def parse_users(raw: Any, problems: Problems) -> tuple[UserEntry, ...]:
    """The ``[users.<name>]`` tables as :class:`UserEntry` objects, in file order."""
    users = []
    for name, table in _tables(raw, "users", problems).items():
        if not isinstance(table, Mapping):
            problems.add(f"users.{name}", f"expected a table, got {describe(table)}")
            continue
        entry = structure_attrs({"name": name, **table}, UserEntry, f"users.{name}", problems)
        if entry is not None:
            users.append(entry)
    return tuple(users)


def check_names(
    target_names: Sequence[str],
    default_targets: Sequence[str] | None,
    only_user: str | None,
    events: Sequence[EventRule],
    users: Sequence[UserEntry],
    raw_users: Any,
    problems: Problems,
) -> None:
    """Every target a routing table names must exist; ``only_user`` must name a ``[users]`` table."""

    def check(path: str, names: Iterable[str]) -> None:
        for index, name in enumerate(names):
            if name not in target_names:
                problems.add(f"{path}[{index}]", f"no target named {name!r}{suggest(name, target_names)}")

    if default_targets is not None:
        check("notifications.default_targets", default_targets)
    for rule in events:
        if rule.targets is not None:
            check(f"events.{_quoted(rule.pattern)}.targets", rule.targets)
    owners: dict[str, str] = {}
    for user in users:
        check(f"users.{user.name}.targets", user.targets)
        for name in user.targets:
            if name in owners and owners[name] != user.name:
                problems.add(f"users.{user.name}.targets", f"target {name!r} already belongs to user {owners[name]!r}")
            owners[name] = user.name
    listed = list(raw_users) if isinstance(raw_users, Mapping) else []
    known = {n for u in users for n in u.names()} | {name.casefold() for name in listed}
    if only_user is not None and only_user.casefold() not in known:
        problems.add(
            "notifications.only_user",
            f"no [users.{only_user}] table{suggest(only_user, listed)}; users: {', '.join(listed) or 'none'}",
        )
