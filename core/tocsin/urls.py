"""One-line targets: Apprise-style URLs (``discord://id/token``, ``mailtos://user:pass@host``) as targets.

Each channel declares the schemes it reads (``Channel.schemes``) and a ``from_url`` that turns such a URL
into its option mapping, usually with :func:`split_url`. A URL can stand wherever a target can:

* ``tocsin send EVENT --to URL`` (:func:`url_targets`): a target per URL, named after its channel;
* a ``[[targets]]`` table's ``url`` key (:func:`expand_url`): ``channel`` is inferred from the scheme
  and the URL's parts become the channel's options (the table's other keys are added to them).

The URL is a secret as a whole (tokens, passwords and webhook ids live in it): no error here or in a
channel's ``from_url`` repeats it, and the options it becomes keep their secrets in ``Secret`` fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import attrs

from .secrets import redact
from .structure import Problems, suggest

if TYPE_CHECKING:
    from .plugins import ChannelInfo, PluginRegistry

__all__ = ["UrlParts", "expand_url", "scheme_of", "split_url", "url_targets"]

_PLAIN = ("http", "https")


@attrs.frozen(repr=False)
class UrlParts:
    """An Apprise-style URL taken apart, every part percent-decoded.

    ``path`` holds the non-empty path segments; ``query`` the parameters in order (a key may repeat;
    ``+`` stays ``+``, as Apprise's ``+Header=value`` needs); ``port`` is None when not given.
    """

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None
    path: tuple[str, ...]
    query: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:  # every part may be secret
        return f"UrlParts(scheme={self.scheme!r}, ...)"

    def param(self, *names: str) -> str | None:
        """The last value of the first of ``names`` the query has, or None."""
        for name in names:
            values = [v for k, v in self.query if k == name]
            if values:
                return values[-1]
        return None

    def check_params(self, known: Sequence[str], prefixes: str = "") -> None:
        """ValueError naming the first query key that is neither in ``known`` nor starts with ``prefixes``."""
        for key, _ in self.query:
            if key not in known and not (prefixes and key[:1] in prefixes):
                listed = ", ".join(known) or "none"
                raise ValueError(
                    f"{self.scheme}:// URL: unknown parameter {key!r}{suggest(key, known)}; takes: {listed}"
                )


def scheme_of(url: str) -> str | None:
    """The lower-cased scheme of ``url`` (``"discord"``), or None when it has none."""
    head, sep, _ = url.strip().partition("://")
    return head.lower() if sep and head.replace("+", "").replace("-", "").isalnum() else None


def split_url(url: str) -> UrlParts:
    """``url`` taken apart; ValueError (without the URL in it) when it is malformed."""
    scheme = scheme_of(url)
    if scheme is None:
        raise ValueError("not a URL (expected scheme://…)")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{scheme}:// URL: malformed (is the port a number from 1 to 65535?)") from None
    query = []
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        query.append((unquote(key), unquote(value)))
    return UrlParts(
        scheme=scheme,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=unquote(_host(parts.netloc)),
        port=port,
        path=tuple(unquote(segment) for segment in parts.path.split("/") if segment),
        query=tuple(query),
    )


def _host(netloc: str) -> str:
    """The host part of ``netloc`` with its case kept (tokens sit there: ``slack://TokenA/…``)."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.partition(":")[0]


def channel_for_scheme(scheme: str, registry: PluginRegistry) -> ChannelInfo:
    """The installed channel that reads ``scheme://`` URLs; ValueError listing the known schemes otherwise."""
    found = registry.load_all(strict=False)
    for info in found.values():
        if scheme in info.spec.schemes:
            return info
    known = sorted({s for info in found.values() for s in info.spec.schemes})
    listed = ", ".join(f"{s}://" for s in known) or "none"
    raise ValueError(f"no installed channel reads {scheme}:// URLs{suggest(scheme, known)} (installed: {listed})")


def expand_url(
    entry: Mapping[str, Any], at: str, registry: PluginRegistry, problems: Problems
) -> dict[str, Any] | None:
    """A ``[[targets]]`` table whose ``url`` is a channel URL, with ``channel`` and the options filled in.

    Tables without such a URL come back unchanged. Problems are recorded at ``<at>.url``, never with the
    URL, and give None.
    """
    table = dict(entry)
    url = table.get("url")
    scheme = scheme_of(url) if isinstance(url, str) else None
    if scheme is None or scheme in _PLAIN:
        return table
    try:
        info = channel_for_scheme(scheme, registry)
    except ValueError as exc:
        if "channel" in table:  # not a one-line target: the channel's own check of its url will say what is wrong
            return table
        problems.add(f"{at}.url", str(exc))
        return None
    try:
        if "channel" in table and table["channel"] != info.spec.name:
            raise ValueError(f"a {scheme}:// URL is for channel {info.spec.name!r}, not {table['channel']!r}")
        assert info.spec.from_url is not None
        options = dict(info.spec.from_url(url))
    except ValueError as exc:
        problems.add(f"{at}.url", redact(str(exc), _url_secrets(url)))
        return None
    del table["url"]
    clash = sorted(set(options) & set(table))
    if clash:
        problems.add(f"{at}.url", f"the URL already gives {', '.join(clash)}: set each in one place")
        return None
    return {**options, **table, "channel": info.spec.name}


def _url_secrets(url: str) -> list[str]:
    try:
        parts = split_url(url)
    except ValueError:
        return [url]
    return [url, *(p for p in (parts.user, parts.password, parts.host, *parts.path) if p)]


def url_targets(urls: Sequence[str], registry: PluginRegistry) -> list[dict[str, Any]]:
    """``[[targets]]`` tables for ``tocsin send --to URL …``: named after the channel (``discord``,
    ``discord-2``, …). ValueError (naming the --to, never the URL) when a scheme is unknown."""
    tables: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for index, url in enumerate(urls, 1):
        scheme = scheme_of(url)
        if scheme is None:
            raise ValueError(f"--to #{index}: not a URL (expected scheme://…, e.g. discord://id/token)")
        if scheme in _PLAIN:
            raise ValueError(
                f"--to #{index}: an http(s) URL names no channel: write a JSON webhook as jsons://host/path, "
                "a channel's webhook in its own form (discord://id/token, slack://A/B/C, …)"
            )
        name = channel_for_scheme(scheme, registry).spec.name
        counts[name] = counts.get(name, 0) + 1
        tables.append({"name": name if counts[name] == 1 else f"{name}-{counts[name]}", "url": url})
    return tables
