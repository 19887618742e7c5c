"""The noise-control keys of the config: de-duplication, rate limits, grouping, quiet hours, critical.

Each key may be set in ``[notifications]`` (the default for every target) and in a ``[[targets]]`` table
(that target's own value wins); a channel declares a default ``rate_limit`` from its platform's
documented limit (:attr:`tocsin.Channel.rate_limit`), used when neither sets one::

    dedup_window = "10m"                  # the same dedup_key within 10 minutes is sent once
    dedup_key = "{{ type }}:{{ data.run_id }}"   # a template; default: type + run_id/job_id, else the event id
    rate_limit = "30/1m"                  # at most 30 sends a minute; beyond, held and sent as one digest
    group_by = ["type", "data.queue"]     # events of one group within group_wait become one digest
    group_wait = "30s"
    group_interval = "5m"
    quiet_hours = { start = "22:00", end = "07:00", timezone = "Europe/Berlin", allow = ["failure"] }
    critical = ["failure"]                # these severities bypass de-duplication, digests and quiet hours

Durations have one syntax everywhere (:func:`parse_duration`): a number of seconds, or a number and a
unit: ``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` (also ``"1w"``). A bad value is a config error naming its
key. :meth:`Noise.resolve` merges the three layers into the :class:`NoisePolicy` the engine applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import jinja2
import jinja2.sandbox

from .durations import parse_duration
from .events import Severity
from .structure import Invalid, Problems, structure_attrs

__all__ = [
    "NOISE_KEYS",
    "Noise",
    "NoisePolicy",
    "QuietHours",
    "RateLimit",
    "parse_duration",
    "parse_noise",
    "parse_rate_limit",
]

SEVERITIES = tuple(s.value for s in Severity)
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\S+)\s*$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: A sandboxed environment for ``dedup_key`` templates (event data can never reach Python internals).
KEY_TEMPLATES = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)


@attrs.frozen
class RateLimit:
    """At most ``count`` sends in any ``period`` seconds (``count`` 0: no limit, written ``"off"``)."""

    count: int
    period: float

    @property
    def off(self) -> bool:
        return self.count == 0

    def __str__(self) -> str:
        if self.off:
            return "off"
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if self.period >= size and self.period % size == 0:
                return f"{self.count}/{self.period // size:g}{unit}"
        return f"{self.count}/{self.period:g}s"


RATE_OFF = RateLimit(0, 0.0)


def parse_rate_limit(value: str | RateLimit) -> RateLimit:
    """``"30/1m"``, ``"1/1s"``, ``"4/s"`` (N sends per duration) or ``"off"``; ValueError otherwise."""
    if isinstance(value, RateLimit):
        return value
    if str(value).strip().lower() in ("off", "none"):
        return RATE_OFF
    match = _RATE.match(str(value))
    if not match:
        raise ValueError(f'expected "N/period" like "30/1m" or "1/1s" (or "off"), not {value!r}')
    count, period = int(match.group(1)), match.group(2)
    seconds = parse_duration(period if period[0].isdigit() else f"1{period}")
    if count < 1 or seconds <= 0:
        raise ValueError(f"needs at least 1 send per a period longer than 0 seconds, not {value!r}")
    return RateLimit(count, seconds)


def _clock(value: str, key: str) -> time:
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f'{key}: expected a time of day like "22:00", not {value!r}')
    return time(int(match.group(1)), int(match.group(2)))


def _severities(value: Sequence[str], key: str) -> tuple[str, ...]:
    found = tuple(str(v).lower() for v in value)
    for severity in found:
        if severity not in SEVERITIES:
            raise ValueError(f"{key}: {severity!r} is not a severity ({', '.join(SEVERITIES)})")
    return found


@attrs.frozen
class QuietHours:
    """``quiet_hours``: from ``start`` to ``end`` (local times in ``timezone``; may cross midnight), events
    whose severity is not in ``allow`` are held and sent as one digest when the quiet period ends."""

    start: str = attrs.field(metadata={"doc": 'Local time the quiet period starts, like "22:00".'})
    end: str = attrs.field(metadata={"doc": 'Local time it ends, like "07:00" (the next day when before start).'})
    timezone: str = attrs.field(default="UTC", metadata={"doc": 'An IANA time zone, like "Europe/Berlin".'})
    allow: list[str] = attrs.field(
        default=(), converter=tuple, metadata={"doc": "Severities still sent at once during quiet hours."}
    )

    def __attrs_post_init__(self) -> None:
        problems = []
        for key in ("start", "end"):
            try:
                _clock(getattr(self, key), key)
            except ValueError as exc:
                problems.append(str(exc))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: unknown time zone {self.timezone!r} (use an IANA name like Europe/Berlin)")
        try:
            object.__setattr__(self, "allow", _severities(self.allow, "allow"))
        except ValueError as exc:
            problems.append(str(exc))
        if not problems and self.start.strip() == self.end.strip():
            problems.append("end: must differ from start")
        if problems:
            raise Invalid(problems)

    def until(self, now: datetime) -> datetime | None:
        """When the quiet period that contains ``now`` (aware) ends, or None when ``now`` is not quiet."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        start, end = _clock(self.start, "start"), _clock(self.end, "end")
        at = local.timetz().replace(tzinfo=None)
        if start < end:
            quiet = start <= at < end
            day = local.date()
        else:  # crosses midnight: 22:00-07:00
            quiet = at >= start or at < end
            day = local.date() + timedelta(days=1) if at >= start else local.date()
        if not quiet:
            return None
        return datetime.combine(day, end, tzinfo=zone)


def _keyed(key: str, convert: Any) -> Any:
    """``convert``, its ValueError prefixed with ``key`` (so a config error names the key)."""

    def run(value: Any) -> Any:
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None

    return run


def _optional_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _quiet(value: QuietHours | Mapping[str, Any] | None) -> QuietHours | None:
    if value is None or isinstance(value, QuietHours):
        return value
    problems = Problems()
    built = structure_attrs(dict(value), QuietHours, "quiet_hours", problems)
    if built is None:
        raise Invalid(problems)
    return built


@attrs.frozen
class Noise:
    """The noise-control keys of one table (``[notifications]`` or a target); None leaves a key to the
    layer below (see :meth:`resolve`). Python code passes it as ``Target(noise=Noise(...))`` or a mapping."""

    dedup_window: float | str | None = attrs.field(
        default=None,
        converter=_keyed("dedup_window", parse_duration),
        metadata={"doc": 'The same dedup_key within this window is sent once ("10m"); later ones are skipped.'},
    )
    dedup_key: str | None = attrs.field(
        default=None,
        metadata={"doc": "A template over the event (type, id, severity, title, data); default type + run_id/job_id."},
    )
    rate_limit: str | None = attrs.field(
        default=None,
        converter=_keyed("rate_limit", parse_rate_limit),
        metadata={"doc": 'At most N sends per period ("30/1m"); beyond, held and sent as one digest. "off": none.'},
    )
    group_by: list[str] | None = attrs.field(
        default=None,
        converter=_optional_tuple,
        metadata={"doc": 'Event fields ("type", "severity", "data.queue") whose values make a group.'},
    )
    group_wait: float | str | None = attrs.field(
        default=None,
        converter=_keyed("group_wait", parse_duration),
        metadata={"doc": 'How long a new group collects events ("30s").'},
    )
    group_interval: float | str | None = attrs.field(
        default=None,
        converter=_keyed("group_interval", parse_duration),
        metadata={"doc": 'The least time between two digests of a group ("5m").'},
    )
    quiet_hours: QuietHours | None = attrs.field(
        default=None, converter=_quiet, metadata={"doc": "{ start, end, timezone, allow }: hold others for a digest."}
    )
    critical: list[str] | None = attrs.field(
        default=None,
        converter=_optional_tuple,
        metadata={"doc": "Severities that bypass de-duplication, digests and quiet hours (not the rate limit)."},
    )

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.dedup_key is not None:
            try:
                KEY_TEMPLATES.from_string(self.dedup_key)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(f"dedup_key: template syntax error: {exc.message}")
        if self.critical is not None:
            try:
                object.__setattr__(self, "critical", _severities(self.critical, "critical"))
            except ValueError as exc:
                problems.append(str(exc))
        for key in ("group_by",):
            for index, field in enumerate(getattr(self, key) or ()):
                if not re.fullmatch(r"[A-Za-z_][\w]*(\.[\w-]+)*", field):
                    problems.append(
                        f"{key}[{index}]: expected a field like type, severity or data.queue, not {field!r}"
                    )
        if problems:
            raise Invalid(problems)

    @staticmethod
    def resolve(defaults: Noise, own: Noise | None, channel_rate_limit: RateLimit | None = None) -> NoisePolicy:
        """The policy of one target: its own keys, else ``[notifications]``'s, else the channel's rate limit."""
        merged = {
            field.name: getattr(own, field.name)
            if own is not None and getattr(own, field.name) is not None
            else getattr(defaults, field.name)
            for field in attrs.fields(Noise)
        }
        rate = merged["rate_limit"] if merged["rate_limit"] is not None else channel_rate_limit
        return NoisePolicy(
            dedup_window=merged["dedup_window"] or 0.0,
            dedup_key=merged["dedup_key"],
            rate_limit=None if rate is None or rate.off else rate,
            group_by=merged["group_by"] or (),
            group_wait=30.0 if merged["group_wait"] is None else merged["group_wait"],
            group_interval=300.0 if merged["group_interval"] is None else merged["group_interval"],
            quiet_hours=merged["quiet_hours"],
            critical=merged["critical"] or (),
        )


#: The noise keys of a ``[notifications]`` or ``[[targets]]`` table.
NOISE_KEYS = tuple(field.name for field in attrs.fields(Noise))


@attrs.frozen
class NoisePolicy:
    """What the engine applies to one target's deliveries (every layer merged, defaults filled in)."""

    dedup_window: float = 0.0
    dedup_key: str | None = None
    rate_limit: RateLimit | None = None
    group_by: tuple[str, ...] = ()
    group_wait: float = 30.0
    group_interval: float = 300.0
    quiet_hours: QuietHours | None = None
    critical: tuple[str, ...] = ()

    @property
    def quiet(self) -> bool:
        """Whether this policy does nothing (the engine's fast path)."""
        return not (self.dedup_window or self.rate_limit or self.group_by or self.quiet_hours)


def parse_noise(raw: Mapping[str, Any], at: str, problems: Problems) -> Noise | None:
    """The noise keys of one table (``raw`` holds only those) as a :class:`Noise`, problems named under ``at``."""
    if not raw:
        return None
    return structure_attrs(dict(raw), Noise, at, problems)


def to_noise(value: Noise | Mapping[str, Any] | None) -> Noise | None:
    """A ``noise=`` argument given in Python: a Noise, a mapping of its keys, or None."""
    if value is None or isinstance(value, Noise):
        return value
    problems = Problems()
    built = parse_noise(value, "", problems)
    if problems:
        raise Invalid(problems)
    return built
