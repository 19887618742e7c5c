"""Finding, loading and registering plugins.

Channel plugins are installed distributions with an entry point in the ``tocsin`` group, named after
the channel they provide (``discord = "tocsin_discord"``); they are imported only when a target uses
that channel (or when ``tocsin channels`` lists them all). Plugins that provide no channel, only hooks
(metrics, enrichment, a deployment's formatting tweaks), go in the ``tocsin.plugins`` group and are
always loaded, or are named in the config's ``notifications.plugins`` as a module or a ``.py`` file.

``TOCSIN_LOAD_PLUGINS`` is the escape hatch when a broken plugin stops everything: when set, only the
entry points (or distributions) it lists, comma-separated, are loaded; set and empty, none are.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from . import hookspecs
from .channel import Channel
from .errors import PluginError
from .structure import suggest

if TYPE_CHECKING:
    from importlib import metadata

__all__ = [
    "CHANNEL_GROUP",
    "HOOKS_GROUP",
    "LOAD_PLUGINS_ENV",
    "PUBLISHED_CHANNELS",
    "ChannelHooks",
    "ChannelInfo",
    "PluginRegistry",
]

CHANNEL_GROUP = "tocsin"
HOOKS_GROUP = "tocsin.plugins"
LOAD_PLUGINS_ENV = "TOCSIN_LOAD_PLUGINS"
#: The channels this project publishes, by the distribution that provides each: the ``pip install`` line
#: for one that is not installed. A name not listed gets no such line (it would name an invented package).
PUBLISHED_CHANNELS = {
    **{name: f"tocsin-{name}" for name in ("discord", "email", "googlechat", "gotify", "mattermost", "ntfy")},
    **{name: f"tocsin-{name}" for name in ("pagerduty", "slack", "teams", "telegram", "webhook")},
    "slack-api": "tocsin-slack",
    "sms": "tocsin-twilio",
}


@attrs.frozen
class ChannelInfo:
    """A loaded channel: its declaration and the distribution that provides it."""

    spec: Channel
    distribution: str
    version: str
    plugin: Any = attrs.field(eq=False, repr=False)


@attrs.frozen
class ChannelHooks:
    """The per-channel hook callers :meth:`PluginRegistry.hook_for` returns."""

    format_message: Any
    deliver: Any


def _all_entry_points(group: str) -> list[metadata.EntryPoint]:
    """Every installed entry point of ``group``, whatever ``TOCSIN_LOAD_PLUGINS`` says."""
    from importlib import metadata  # here: importing tocsin does not read the installed distributions

    return list(metadata.entry_points(group=group))


def _validation_message(exc: pluggy.PluginValidationError) -> str:
    """pluggy's complaint without the module's repr, and a close hook name for a misspelt one."""
    message = re.sub(r" in plugin <.*?>", "", str(exc).splitlines()[0] if str(exc) else repr(exc))
    unknown = re.match(r"unknown hook '(\w+)'", message)
    if unknown:
        hooks = [n for n in dir(hookspecs) if not n.startswith("_") and callable(getattr(hookspecs, n))]
        message += suggest(unknown.group(1), hooks)
    return message


def _dist_of(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ("unknown", "")
    return (dist.metadata["Name"] or dist.name, dist.version)


class PluginRegistry:
    """The pluggy manager plus the channels the loaded plugins declare.

    Built-in: the ``console`` channel. ``load_entrypoints=False`` gives a registry that sees no
    installed plugin (tests, embedding with an explicit plugin list).
    """

    def __init__(self, *, load_entrypoints: bool = True, plugins: Iterable[Any] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.channels: dict[str, ChannelInfo] = {}
        self._channel_hooks: dict[str, ChannelHooks] = {}
        self._load_entrypoints = load_entrypoints
        self._loaded_eps: set[tuple[str, str]] = set()
        self._all_loaded = False
        self.load_errors: list[PluginError] = []
        from .channels import console

        self.register(console, name="tocsin.console", distribution="tocsin")
        if load_entrypoints:
            for ep in self._entry_points(HOOKS_GROUP):
                self._load_entry_point(ep)
        for plugin in plugins:
            self.register(plugin)

    # -- discovery -------------------------------------------------------------------------------
    def _entry_points(self, group: str) -> list[metadata.EntryPoint]:
        if not self._load_entrypoints:
            return []
        eps = _all_entry_points(group)
        allow = os.environ.get(LOAD_PLUGINS_ENV)
        if allow is not None:
            wanted = {w.strip() for w in allow.split(",") if w.strip()}
            eps = [ep for ep in eps if ep.name in wanted or _dist_of(ep)[0] in wanted]
        return eps

    def _load_entry_point(self, ep: metadata.EntryPoint) -> None:
        key = (ep.group, ep.name)
        if key in self._loaded_eps:
            return
        self._loaded_eps.add(key)
        dist, version = _dist_of(ep)
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f'error importing plugin "{ep.name}" ({dist}): {type(exc).__name__}: {exc}') from exc
        if self.pm.is_registered(plugin):
            return
        self.register(plugin, name=f"{dist}:{ep.name}", distribution=dist, version=version)

    def register(self, plugin: Any, *, name: str | None = None, distribution: str = "local", version: str = "") -> None:
        """Register a module or object holding ``@hookimpl`` functions, and record its channels."""
        if self.pm.is_registered(plugin):
            return
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            raise PluginError(f"plugin {name or plugin!r} ({distribution}): {_validation_message(exc)}") from exc
        self._channel_hooks.clear()
        impl = getattr(plugin, "tocsin_channels", None)
        if impl is None:
            return
        for spec in impl() or ():
            if not isinstance(spec, Channel):
                raise PluginError(f"plugin {distribution}: tocsin_channels must return tocsin.Channel objects")
            if not attrs.has(spec.options):
                raise PluginError(f"channel {spec.name!r} ({distribution}): options must be an attrs class")
            existing = self.channels.get(spec.name)
            if existing is not None and existing.plugin is not plugin:
                raise PluginError(
                    f"channel {spec.name!r} is provided twice: by {existing.distribution} and by {distribution}"
                )
            self.channels[spec.name] = ChannelInfo(spec, distribution, version, plugin)

    def load_local(self, spec: str) -> None:
        """Load a deployment's own plugin: a dotted module path or a path to a ``.py`` file."""
        try:
            if spec.endswith(".py"):
                path = Path(spec)
                if not path.is_file():
                    raise PluginError(f"plugin file {spec} not found")
                mod_name = f"tocsin_local_{path.stem}_{abs(hash(str(path.resolve())))}"
                module = sys.modules.get(mod_name)
                if module is None:
                    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
                    if loader_spec is None or loader_spec.loader is None:
                        raise PluginError(f"cannot load plugin file {spec}")
                    module = importlib.util.module_from_spec(loader_spec)
                    sys.modules[mod_name] = module
                    loader_spec.loader.exec_module(module)
            else:
                module = importlib.import_module(spec)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f'error importing plugin "{spec}": {type(exc).__name__}: {exc}') from exc
        self.register(module, name=f"local:{spec}", distribution="local")

    # -- channels --------------------------------------------------------------------------------
    def channel(self, name: str) -> ChannelInfo:
        """The channel called ``name``, importing only the plugin that provides it.

        Raises PluginError with the ``pip install`` line when no installed plugin provides it.
        """
        if name in self.channels:
            return self.channels[name]
        for ep in self._entry_points(CHANNEL_GROUP):
            if ep.name == name:
                self._load_entry_point(ep)
        if name not in self.channels:
            self.load_all(strict=False)  # an entry point may provide channels under other names
        if name in self.channels:
            return self.channels[name]
        raise PluginError(self._not_found(name))

    def _not_found(self, name: str) -> str:
        """Why no channel ``name`` is loaded: held back by ``TOCSIN_LOAD_PLUGINS``, a typo of an installed
        channel's name (suggested), a published channel not installed (the ``pip install`` line), or no
        such channel at all (the installed ones listed)."""
        eps = _all_entry_points(CHANNEL_GROUP) if self._load_entrypoints else []
        installed = {ep.name: _dist_of(ep)[0] for ep in eps}
        allow = os.environ.get(LOAD_PLUGINS_ENV)
        if name in installed and allow is not None:
            return (
                f"channel {name!r} is installed ({installed[name]}) but not loaded: "
                f"{LOAD_PLUGINS_ENV}={allow!r} does not list it"
            )
        usable = sorted({*(ep.name for ep in self._entry_points(CHANNEL_GROUP)), *self.channels})
        hint = suggest(name, usable)
        if hint:
            return f"channel {name!r} is not installed{hint}"
        if name in PUBLISHED_CHANNELS:
            return f"channel {name!r} is not installed — pip install {PUBLISHED_CHANNELS[name]}"
        return f"no channel {name!r} is installed (installed: {', '.join(usable) or 'none'})"

    def load_all(self, *, strict: bool = True) -> dict[str, ChannelInfo]:
        """Import every installed channel plugin (for ``tocsin channels``); returns all channels.

        A plugin that fails to import is skipped; with ``strict`` the first such error is raised after
        the others were loaded.
        """
        errors: list[PluginError] = []
        if not self._all_loaded:
            self._all_loaded = True
            for ep in self._entry_points(CHANNEL_GROUP):
                try:
                    self._load_entry_point(ep)
                except PluginError as exc:
                    errors.append(exc)
            self.load_errors = errors
        if strict and getattr(self, "load_errors", None):
            raise self.load_errors[0]
        return dict(sorted(self.channels.items()))

    def template_dirs(self) -> list[tuple[str, Path]]:
        """``(channel name, packaged templates folder)`` of every loaded channel that ships some."""
        return [(name, info.spec.templates) for name, info in self.channels.items() if info.spec.templates]

    def template_filters(self) -> dict[str, Any]:
        """The Jinja filters every loaded channel declares."""
        filters: dict[str, Any] = {}
        for info in self.channels.values():
            filters.update(info.spec.filters)
        return filters

    def hook_for(self, channel: str) -> ChannelHooks:
        """The hooks that may answer for ``channel``: its owner's plus those of plugins that own no channel.

        ``format_message`` and ``deliver`` are called through this (pluggy's ``subset_hook_caller``, as
        pytest's ``item.ihook`` narrows hooks to a node's plugins), so a channel plugin never sees another
        channel's targets: it needs no ``if target.channel != ...`` guard, and one that forgets it, or
        whose ``async def`` hookimpl returns a coroutine for every call, cannot take over another channel.
        A deployment's hook-only plugins (wrappers, ``tryfirst`` overrides) still see every channel.
        """
        hooks = self._channel_hooks.get(channel)
        if hooks is None:
            owner = self.channels[channel].plugin if channel in self.channels else None
            others = {id(info.plugin): info.plugin for info in self.channels.values() if info.plugin is not owner}
            hooks = ChannelHooks(
                format_message=self.pm.subset_hook_caller("format_message", list(others.values())),
                deliver=self.pm.subset_hook_caller("deliver", list(others.values())),
            )
            self._channel_hooks[channel] = hooks
        return hooks

    @property
    def hook(self) -> Any:
        """The pluggy hook relay: ``registry.hook.format_message(...)``."""
        return self.pm.hook

    def plugin_modules(self) -> list[ModuleType | Any]:
        return list(self.pm.get_plugins())
