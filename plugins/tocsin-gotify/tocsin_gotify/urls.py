"""Apprise's Gotify URLs as targets: ``gotify://`` (http) and ``gotifys://`` (https).

``gotifys://host[:port][/path]/token[?priority=high&format=markdown]``: the last path segment is the
application token (a secret), what comes before it the server's base URL (a Gotify under
``https://example.org/gotify`` is ``gotifys://example.org/gotify/token``). ``?priority=`` sets one
priority for every severity, by Apprise's names (low 0, moderate 3, normal 5, high 8, emergency 10, or
their first letters) or as Gotify's number 0-10 (Apprise rounds numbers to its five levels; tocsin keeps
them). ``?format=markdown`` turns on the ``markdown`` option (``text``: off).
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("gotify", "gotifys")
PARAMS = ("priority", "format")
PRIORITIES = {"l": 0, "m": 3, "n": 5, "h": 8, "e": 10}
SEVERITIES = ("failure", "warning", "success", "info")


def from_url(url: str) -> dict[str, Any]:
    """The ``gotify`` options a ``gotify(s)://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    if not parts.host or not parts.path:
        raise ValueError(f"{parts.scheme}:// URL: expected {parts.scheme}://host[:port][/path]/token")
    *folders, token = parts.path
    port = f":{parts.port}" if parts.port else ""
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    base = "/".join([f"{'https' if parts.scheme == 'gotifys' else 'http'}://{host}{port}", *folders])
    options: dict[str, Any] = {"url": base, "token": token}
    priority = parts.param("priority")
    if priority is not None:
        options["priorities"] = dict.fromkeys(SEVERITIES, _priority(parts.scheme, priority))
    form = (parts.param("format") or "").lower()
    if form:
        if form not in ("markdown", "text"):
            raise ValueError(f"{parts.scheme}:// URL: format must be markdown or text")
        options["markdown"] = form == "markdown"
    return options


def _priority(scheme: str, value: str) -> int:
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 10:
        return int(text)
    if text[:1] in PRIORITIES:
        return PRIORITIES[text[:1]]
    raise ValueError(f"{scheme}:// URL: priority must be low, moderate, normal, high, emergency or 0-10")
