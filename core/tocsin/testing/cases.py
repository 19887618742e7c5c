"""Every installed channel as test cases: the table the core's cross-channel suites are driven by.

Channels are found through the registry (entry points and built-ins), never from a list written here,
so a channel installed later is in every suite at once. Each channel says how to point a target at
local servers with ``Channel.test_options`` (one dict, or a list of dicts for each way it can be
configured); :func:`channel_cases` turns that into one :class:`ChannelCase` per (channel, way).

A channel that declares no ``test_options`` still gets a case, whose :attr:`ChannelCase.problem` says
what to add, so the suites fail for it instead of quietly leaving it out.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from ..channel import LocalServers
from ..plugins import PluginRegistry
from ..secrets import Secret
from ..structure import option_key

__all__ = ["ChannelCase", "channel_cases", "iter_strings", "placeholder_servers", "secret_option_keys"]


@attrs.frozen
class ChannelCase:
    """One way of configuring one installed channel, for a suite to run."""

    channel: str
    variant: int
    distribution: str
    problem: str | None = None

    @property
    def id(self) -> str:
        """``discord``, ``slack[1]``: the pytest id."""
        return self.channel if self.variant == 0 else f"{self.channel}[{self.variant}]"

    def options(self, servers: LocalServers) -> dict[str, Any]:
        """The target options for ``servers`` (raises AssertionError with :attr:`problem` if unusable)."""
        if self.problem:
            raise AssertionError(self.problem)
        info = PluginRegistry().channel(self.channel)
        return dict(_variants(info.spec.test_options(servers))[self.variant])  # type: ignore[misc]


def placeholder_servers() -> LocalServers:
    """Servers nobody listens on, to count each channel's ways of configuring at collection time."""
    return LocalServers(http_url="http://127.0.0.1:9", smtp_port=9, secret="tocsinPlaceholder0")


def _variants(value: Any) -> list[Mapping[str, Any]]:
    return [value] if isinstance(value, Mapping) else list(value)


def channel_cases(registry: PluginRegistry | None = None) -> list[ChannelCase]:
    """One case per installed channel and per way of configuring it (see ``Channel.test_options``)."""
    registry = registry or PluginRegistry()
    channels = registry.load_all(strict=False)
    cases: list[ChannelCase] = []
    for error in getattr(registry, "load_errors", ()):
        cases.append(ChannelCase(f"<plugin that failed to load #{len(cases)}>", 0, "?", problem=str(error)))
    for name, info in channels.items():
        factory = info.spec.test_options
        if factory is None:
            problem = (
                f"channel {name!r} ({info.distribution}) declares no test_options: give its Channel(...) "
                "test_options=f(servers: tocsin.LocalServers) -> options delivering to servers.http_url (or "
                "servers.smtp_host/smtp_port) with servers.secret in every Secret option (see PLUGINS.md)"
            )
            cases.append(ChannelCase(name, 0, info.distribution, problem=problem))
            continue
        count = len(_variants(factory(placeholder_servers())))
        cases.extend(ChannelCase(name, index, info.distribution) for index in range(count))
    return cases


def secret_option_keys(channel: str) -> set[str]:
    """The config keys of ``channel``'s options typed :class:`~tocsin.Secret` (alone, optional or in a dict)."""
    options_class = PluginRegistry().channel(channel).spec.options
    hints = typing.get_type_hints(options_class)
    return {
        option_key(field)
        for field in attrs.fields(options_class)
        if field.init and "Secret" in str(hints.get(field.name, field.type))
    }


def iter_strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (options as given: strings, lists, dicts, Secrets revealed)."""
    if isinstance(value, Secret):
        yield value.reveal()
    elif isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_strings(item)
