"""Configuration: the TOML file and the attrs classes it is structured into.

A config file and Python code are two spellings of one model: ``load_config("tocsin.toml")`` gives the
same :class:`Config` you could build from :class:`Settings` and :class:`Target` by hand.

Where the file comes from: ``--config PATH``, else ``$TOCSIN_CONFIG``, else ``./tocsin.toml``, else the
embedded default (every event to the console).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .config_checks import (
    MAX_DEPTH,
    count_problem,
    folder_problem,
    seconds_problem,
    target_key_problems,
    too_deep,
)
from .delivery.settings import DeliverySettings
from .errors import ConfigError, PluginError
from .events import Severity, Source
from .interpolation import interpolate, root_causes
from .noise_config import NOISE_KEYS, Noise, parse_noise, to_noise
from .routing_config import EventRule, UserEntry, check_names, parse_events, parse_users
from .structure import (
    Invalid,
    Problems,
    add_validation_problem,
    describe,
    option_key,
    structure_attrs,
    structure_value,
    suggest,
)
from .urls import expand_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from .plugins import PluginRegistry

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
    "BrokenTarget",
    "Config",
    "DeliverySettings",
    "Settings",
    "Target",
    "find_config",
    "load_config",
    "parse_config",
    "structure_targets",
]

CONFIG_ENV = "TOCSIN_CONFIG"
DEFAULT_CONFIG_NAME = "tocsin.toml"
SEVERITIES = tuple(s.value for s in Severity)


def _to_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _to_when(value: str | Sequence[str]) -> str | tuple[str, ...]:
    if isinstance(value, str):
        value = value.lower()
        if value == "always":
            return "always"
        value = (value,)
    severities = tuple(str(v).lower() for v in value)
    for severity in severities:
        if severity not in SEVERITIES:
            choices = ", ".join(("always", *SEVERITIES))
            raise ValueError(f"when: must be 'always' or a list of {choices}; got {severity!r}")
    return severities


@attrs.frozen
class Settings:
    """The ``[notifications]`` table: switches and defaults that apply to every target."""

    enabled: bool = attrs.field(default=True, metadata={"doc": "Master switch: false sends nothing."})
    max_concurrent_deliveries: int = attrs.field(
        default=16, metadata={"doc": "Deliveries in flight at once, across all targets."}
    )
    template_dirs: tuple[Path, ...] = attrs.field(
        default=(), converter=tuple, metadata={"doc": "Folders whose templates override the channels'."}
    )
    plugins: tuple[str, ...] = attrs.field(
        default=(),
        converter=tuple,
        metadata={"doc": "Local plugin modules: dotted import paths or .py files."},
    )
    timeout: float = attrs.field(default=10.0, metadata={"doc": "Seconds one delivery attempt may take."})
    max_retries: int = attrs.field(default=3, metadata={"doc": "Retries after a retryable failure."})
    retry_backoff: float = attrs.field(
        default=1.0, metadata={"doc": "First backoff in seconds; doubles each retry, with jitter."}
    )
    retry_backoff_max: float = attrs.field(default=30.0, metadata={"doc": "Longest single backoff."})
    retry_deadline: float = attrs.field(
        default=120.0, metadata={"doc": "Seconds a target's attempts and waits may take in all."}
    )
    default_targets: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(tuple),
        metadata={"doc": "The global targets: events without a [events.<type>] targets override go to these."},
    )
    only_user: str | None = attrs.field(
        default=None, metadata={"doc": "Notify only this [users.<name>]'s targets (a per-user deployment)."}
    )
    recipient_events: tuple[str, ...] = attrs.field(
        default=("job_completed", "job_failed", "job_timeout", "job_cancelled"),
        converter=tuple,
        metadata={"doc": "The types an event's own recipients get when the event names none (recipient_events)."},
    )
    recipient_scope: tuple[str, ...] = attrs.field(
        default=("job_*",),
        converter=tuple,
        metadata={"doc": "The only types (names or globs) an event's own recipients may ever get."},
    )
    http_backend: Literal["httpx", "aiohttp"] = attrs.field(
        default="httpx",
        metadata={
            "doc": "HTTP stack: httpx, or aiohttp (several times faster under load; pip install 'tocsin[aiohttp]')."
        },
    )

    attachment_dir: Path | None = attrs.field(
        default=None,
        metadata={
            "doc": "Where attachments wait for delivery (content-addressed; default $TOCSIN_ATTACHMENT_DIR, "
            "else ~/.local/state/tocsin/attachments)."
        },
    )
    attachment_retention: float = attrs.field(
        default=7 * 24 * 3600.0, metadata={"doc": "Seconds a stored attachment is kept at most (default 7 days)."}
    )
    max_attachment_bytes: int = attrs.field(
        default=50 * 1024 * 1024,
        metadata={"doc": "Largest attachment any target gets (files above are left out with a note); 50 MiB."},
    )

    def __attrs_post_init__(self) -> None:
        found = [
            p
            for p in (
                count_problem("max_concurrent_deliveries", self.max_concurrent_deliveries, 1),
                seconds_problem("timeout", self.timeout),
                count_problem("max_retries", self.max_retries, 0),
                seconds_problem("retry_backoff", self.retry_backoff, zero_ok=True),
                seconds_problem("retry_backoff_max", self.retry_backoff_max, zero_ok=True),
                seconds_problem("retry_deadline", self.retry_deadline),
                seconds_problem("attachment_retention", self.attachment_retention, zero_ok=True),
                count_problem("max_attachment_bytes", self.max_attachment_bytes, 0),
            )
            if p
        ]
        if self.http_backend == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
            found.append("http_backend: 'aiohttp' needs aiohttp: pip install 'tocsin[aiohttp]'")
        if found:
            raise Invalid(found)


@attrs.frozen
class Target:
    """One configured destination: a channel, its options, and which events it wants.

    ``options`` is an instance of the channel's options class (or a mapping, structured against that
    class when the notifier is built). Routing: ``events`` (names, ``"*"`` or globs like ``job_*``),
    ``when`` (``"always"`` or a list of severities), ``users`` (only events about these users).
    ``timeout`` and ``max_retries`` override ``[notifications]``, ``max_in_flight`` the ``[delivery]``
    lane size; ``template_dir`` is searched before the channel's packaged templates, for this target only.
    ``noise`` holds the target's noise-control keys (:class:`tocsin.Noise`: ``dedup_window``,
    ``rate_limit``, ``group_by``, ``quiet_hours``, ``critical``, …; written flat in a ``[[targets]]`` table).
    """

    name: str
    channel: str
    options: Any = attrs.field(factory=dict)
    events: tuple[str, ...] = attrs.field(default=("*",), converter=_to_tuple)
    when: str | tuple[str, ...] = attrs.field(default="always", converter=_to_when)
    users: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    timeout: float | None = None
    max_retries: int | None = None
    template_dir: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    enabled: bool = True
    event_recipients: Literal["ignore", "also", "only"] = "ignore"
    #: Set by routing, never in a config: this delivery goes to these addresses only (see tocsin.routing).
    direct_to: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    max_in_flight: int | None = None
    noise: Noise | None = attrs.field(default=None, converter=to_noise)

    def __attrs_post_init__(self) -> None:
        found = target_key_problems(attrs.asdict(self, recurse=False))
        if found:
            raise Invalid(found)

    def __repr__(self) -> str:  # options may hold secrets: their own reprs redact them
        return f"Target(name={self.name!r}, channel={self.channel!r}, options={self.options!r})"


#: Target keys the core reads; every other key of a ``[[targets]]`` table is the channel's option.
TARGET_KEYS = (
    *("name", "channel", "events", "when", "users", "timeout", "max_retries", "template_dir", "enabled"),
    "event_recipients",
    "max_in_flight",
)

_TARGET_KEY_TYPES: dict[str, Any] = {
    "name": str,
    "channel": str,
    "events": str | list[str],
    "when": str | list[str],
    "users": str | list[str],
    "timeout": float,
    "max_retries": int,
    "template_dir": Path,
    "enabled": bool,
    "event_recipients": Literal["ignore", "also", "only"],
    "max_in_flight": int,
}
#: Target keys that decide routing: a broken target whose routing keys are fine is still routed.
ROUTING_KEYS = ("name", "channel", "events", "when", "users", "enabled")


@attrs.frozen
class BrokenTarget:
    """A ``[[targets]]`` table that cannot be used (unset ``${VAR}``, plugin import failure, bad option).

    A non-strict load keeps it here instead of failing the whole config, so the other targets still
    work; each event routed to it gets a failed receipt carrying ``problems``. ``routing`` is a Target
    with ``options=None`` when its routing keys were readable (else it is reported for every event).
    """

    name: str
    channel: str
    problems: tuple[str, ...]
    position: int
    routing: Target | None = None

    @property
    def error(self) -> str:
        """The config messages, as one receipt error."""
        return "; ".join(self.problems)


@attrs.frozen
class Config:
    """A whole configuration: settings, the source label of events, and the targets."""

    settings: Settings = attrs.field(factory=Settings)
    targets: tuple[Target, ...] = attrs.field(default=(), converter=tuple)
    source: Source | None = None
    path: Path | None = None
    events: tuple[EventRule, ...] = attrs.field(default=(), converter=tuple)
    users: tuple[UserEntry, ...] = attrs.field(default=(), converter=tuple)
    delivery: DeliverySettings = attrs.field(factory=DeliverySettings)
    broken: tuple[BrokenTarget, ...] = attrs.field(default=(), converter=tuple)
    #: The noise-control keys of ``[notifications]``: every target's defaults (see :mod:`tocsin.noise_config`).
    noise: Noise = attrs.field(factory=Noise, converter=lambda v: to_noise(v) or Noise())

    def order(self) -> dict[str, int]:
        """Every target name (broken ones too) with its position in the config."""
        names = [t.name for t in self.targets]
        for broken in sorted(self.broken, key=lambda b: b.position):
            names.insert(min(broken.position, len(names)), broken.name)
        return {name: i for i, name in enumerate(names)}

    def target(self, name: str) -> Target:
        """The target called ``name``; a ConfigError that suggests a close name otherwise."""
        for target in self.targets:
            if target.name == name:
                return target
        names = [t.name for t in self.targets]
        listed = ", ".join(names) or "none"
        raise ConfigError(f"{self.label}: no target named {name!r}{suggest(name, names)}; targets: {listed}")

    @property
    def label(self) -> str:
        """How errors name this configuration: the file's name, or ``<embedded default>``."""
        return str(self.path) if self.path else "<embedded default>"


def default_config() -> Config:
    """The embedded default: every event rendered on the console, so a fresh install does something."""
    return Config(targets=(Target(name="console", channel="console", options={}),))


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use: ``explicit``, ``$TOCSIN_CONFIG``, ``./tocsin.toml``, or None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


def load_config(
    path: str | os.PathLike[str] | None,
    registry: PluginRegistry,
    environ: Mapping[str, str] | None = None,
    *,
    strict: bool = True,
) -> Config:
    """Read, interpolate and structure a TOML config file; ``None`` gives the embedded default.

    Raises :class:`ConfigError` listing every problem, each prefixed with the file and key path. With
    ``strict=False`` a target's own problems do not fail the load: that target is kept in
    ``Config.broken`` (see :class:`BrokenTarget`) and the others work.
    """
    if path is None:
        return parse_config({}, registry, base_dir=Path.cwd(), label=None, default_targets=True)
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Notepad writes one) is not an error
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (line {line} has the byte 0x{data[exc.start]:02x}): save the file as UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested more than {MAX_DEPTH} levels deep") from None
    return parse_config(raw, registry, base_dir=path.parent, label=path, environ=environ, strict=strict)


TOP_KEYS = ["notifications", "delivery", "source", "targets", "events", "users"]


def parse_config(
    raw: Mapping[str, Any],
    registry: PluginRegistry,
    *,
    base_dir: Path,
    label: Path | None,
    environ: Mapping[str, str] | None = None,
    default_targets: bool = False,
    strict: bool = True,
) -> Config:
    """Structure already-parsed TOML data; see :func:`load_config`."""
    prefix = str(label) if label else "<config>"
    deep = too_deep(raw)
    if deep is not None:
        raise ConfigError(f"{prefix}: {deep}: arrays or tables nested more than {MAX_DEPTH} levels deep")
    problems = Problems()
    environ = os.environ if environ is None else environ
    raw = dict(raw)
    raw_targets = raw.pop("targets", [])
    raw = interpolate(raw, "", problems, environ)
    for key in raw:
        if key not in TOP_KEYS:
            problems.add(key, f"unknown key{suggest(key, TOP_KEYS)}")

    notifications = raw.get("notifications", {})
    noise = None
    if isinstance(notifications, Mapping):
        noise = parse_noise({k: v for k, v in notifications.items() if k in NOISE_KEYS}, "notifications", problems)
        notifications = {k: v for k, v in notifications.items() if k not in NOISE_KEYS}
    settings = structure_value(notifications, Settings, "notifications", problems) or Settings()
    settings = attrs.evolve(
        settings,
        template_dirs=tuple(_resolve(base_dir, d) for d in settings.template_dirs),
        attachment_dir=None if settings.attachment_dir is None else _resolve(base_dir, settings.attachment_dir),
        plugins=tuple(str(_resolve(base_dir, p)) if p.endswith(".py") else p for p in settings.plugins),
    )
    delivery = structure_value(raw.get("delivery", {}), DeliverySettings, "delivery", problems) or DeliverySettings()
    if delivery.durable:
        delivery = attrs.evolve(
            delivery, store="sqlite:///" + str(_resolve(base_dir, delivery.store[len("sqlite:///") :]))
        )
    for index, folder in enumerate(settings.template_dirs):
        if problem := folder_problem(folder):
            problems.add(f"notifications.template_dirs[{index}]", problem)
    source = None
    if "source" in raw:
        source = structure_value(raw["source"], Source, "source", problems)

    for index, spec in enumerate(settings.plugins):
        try:
            registry.load_local(spec)
        except PluginError as exc:
            problems.add(f"notifications.plugins[{index}]", str(exc))

    targets: list[Target] = []
    broken: list[BrokenTarget] = []
    deferred = Problems()
    no_targets = raw_targets == []
    if not isinstance(raw_targets, list):
        problems.add("targets", f"expected an array of tables ([[targets]]), got {describe(raw_targets)}")
        raw_targets = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw_targets):
        own = Problems()
        entry = interpolate(entry, f"targets[{index}]", own, environ)
        target = structure_target(entry, index, registry, base_dir, own)
        name = target.name if target is not None else _name_of(entry, index)
        if name in seen:  # reported whatever else is wrong with either target
            problems.add(f"targets[{index}].name", f"duplicate target name {name!r} (also targets[{seen[name]}])")
            problems.extend(own)
            continue
        seen[name] = index
        if not own and target is not None:
            targets.append(target)
        elif strict or not isinstance(entry, Mapping):
            problems.extend(own)
        else:
            deferred.extend(own)  # listed after all when the config fails for another reason
            messages = tuple(f"{prefix}: {p}" for p in root_causes(own))
            channel = entry.get("channel") if isinstance(entry.get("channel"), str) else ""
            broken.append(BrokenTarget(name, channel, messages, index, _routing_only(entry)))
    if no_targets and not default_targets:
        problems.add("", "no targets: nothing would be sent; add a [[targets]] table (tocsin init writes an example)")

    events, users = parse_events(raw.get("events"), problems), parse_users(raw.get("users"), problems)
    named = [e["name"] for e in raw_targets if isinstance(e, Mapping) and isinstance(e.get("name"), str)]
    check_names(named, settings.default_targets, settings.only_user, events, users, raw.get("users"), problems)
    if problems:
        raise ConfigError([f"{prefix}: {p}" for p in root_causes([*problems, *deferred])])
    if default_targets and not raw_targets:
        targets = list(default_config().targets)
    return Config(
        settings=settings,
        targets=tuple(targets),
        source=source,
        path=label,
        events=events,
        users=users,
        delivery=delivery,
        broken=tuple(broken),
        noise=noise or Noise(),
    )


def _name_of(entry: Any, index: int) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return name if isinstance(name, str) and name else f"targets[{index}]"


def _routing_only(entry: Mapping[str, Any]) -> Target | None:
    """The routing half of a broken target (``options=None``), or None when that half is broken too."""
    scratch = Problems()
    common = {
        key: structure_value(entry[key], _TARGET_KEY_TYPES[key], key, scratch) for key in ROUTING_KEYS if key in entry
    }
    if scratch or not isinstance(common.get("name"), str) or not isinstance(common.get("channel"), str):
        return None
    try:
        return Target(options=None, **common)
    except (TypeError, ValueError):
        return None


def structure_target(
    entry: Any, index: int, registry: PluginRegistry, base_dir: Path, problems: Problems
) -> Target | None:
    """One ``[[targets]]`` table as a :class:`Target`, its options structured by its channel's class."""
    at = f"targets[{index}]"
    if not isinstance(entry, Mapping):
        problems.add(at, f"expected a table, got {describe(entry)}")
        return None
    entry = expand_url(entry, at, registry, problems)  # url = "discord://…": channel and options from it
    if entry is None:
        return None
    before = len(problems)
    name = entry.get("name")
    where = f"{at} {name!r}" if isinstance(name, str) else at
    for key in ("name", "channel"):
        if key not in entry:
            problems.add(f"{at}.{key}", "required")
    common = {}
    for key in TARGET_KEYS:
        if key in entry:
            common[key] = structure_value(entry[key], _TARGET_KEY_TYPES[key], f"{at}.{key}", problems)
    if common.get("when") is not None:
        try:
            _to_when(common["when"])
        except ValueError as exc:
            add_validation_problem(at, exc, TARGET_KEYS, problems)
    for problem in target_key_problems(common):
        add_validation_problem(at, ValueError(problem), TARGET_KEYS, problems)
    noise = parse_noise({k: v for k, v in entry.items() if k in NOISE_KEYS}, at, problems)
    if noise is not None:
        common["noise"] = noise
    if common.get("template_dir") is not None:
        common["template_dir"] = _resolve(base_dir, common["template_dir"])
        if problem := folder_problem(common["template_dir"]):
            problems.add(f"{at}.template_dir", problem)
    if "name" not in common or "channel" not in common or common["channel"] is None:
        return None
    try:
        channel = registry.channel(common["channel"])
    except PluginError as exc:
        problems.add(where, str(exc))
        return None
    if common.get("event_recipients", "ignore") != "ignore" and not channel.spec.personal:
        problems.add(f"{at}.event_recipients", f"channel {channel.spec.name!r} does not address people (email does)")
    option_data = {k: v for k, v in entry.items() if k not in TARGET_KEYS and k not in NOISE_KEYS}
    option_fields = {option_key(f) for f in attrs.fields(channel.spec.options)}
    takes = ", ".join(sorted(option_fields)) or "no options"
    extra_problems = Problems()
    options = structure_attrs(option_data, channel.spec.options, at, extra_problems)
    for problem in extra_problems:
        if ": unknown key" in problem and "(did you mean" not in problem:
            key = problem.split(": unknown key")[0].rsplit(".", 1)[-1]
            hint = suggest(key, [*TARGET_KEYS, *NOISE_KEYS, *option_fields])
            problem = f"{problem}{hint}" if hint else f"{problem} (channel {channel.spec.name!r} takes: {takes})"
        problems.append(problem)
    if options is None or len(problems) > before:
        return None
    try:
        return Target(options=options, **common)
    except ValueError as exc:
        add_validation_problem(at, exc, TARGET_KEYS, problems)
        return None


def structure_targets(
    targets: Sequence[Target | Mapping[str, Any]], registry: PluginRegistry, label: str
) -> tuple[Target, ...]:
    """Targets given in Python (Target objects, or mappings as in a ``[[targets]]`` table), checked.

    A Target whose ``options`` is a mapping gets them structured by its channel's options class.
    Raises ConfigError listing every problem.
    """
    problems = Problems()
    result: list[Target] = []
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        at = f"targets[{index}]"
        name = target.get("name") if isinstance(target, Mapping) else target.name
        if isinstance(name, str) and name in seen:  # reported whatever else is wrong with either target
            problems.add(f"{at}.name", f"duplicate target name {name!r} (also targets[{seen[name]}])")
        elif isinstance(name, str):
            seen[name] = index
        if isinstance(target, Mapping):
            built = structure_target(target, index, registry, Path.cwd(), problems)
        else:
            built = _check_target(target, at, registry, problems)
        if built is not None:
            result.append(built)
    if problems:
        raise ConfigError([f"{label}: {p}" for p in problems])
    return tuple(result)


def _check_target(target: Target, at: str, registry: PluginRegistry, problems: Problems) -> Target | None:
    try:
        channel = registry.channel(target.channel)
    except PluginError as exc:
        problems.add(f"{at} {target.name!r}", str(exc))
        return None
    if isinstance(target.options, channel.spec.options):
        return target
    if isinstance(target.options, Mapping):
        options = structure_attrs(target.options, channel.spec.options, at, problems)
        return None if options is None else attrs.evolve(target, options=options)
    problems.add(f"{at}.options", f"expected a mapping or {channel.spec.options.__name__}")
    return None


def _resolve(base_dir: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path)
