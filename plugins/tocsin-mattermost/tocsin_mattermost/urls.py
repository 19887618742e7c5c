"""Apprise's Mattermost URL as a target: ``mmost://`` (http) and ``mmosts://`` (https).

``mmosts://[botname@]host[:port][/path]/token[?channel=town-square]``: the incoming webhook
``https://host:port/path/hooks/token`` (a secret); ``botname`` is the ``username``, ``channel`` (or
``to``) the ``channel_name`` (one per target). Apprise's bot mode (an access token) is not read.
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("mmost", "mmosts")
PARAMS = ("channel", "channels", "to", "botname", "icon_url")


def from_url(url: str) -> dict[str, Any]:
    """The ``mattermost`` options an ``mmost(s)://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    if not parts.host or not parts.path:
        raise ValueError(f"{parts.scheme}:// URL: expected {parts.scheme}://host[:port][/path]/webhook_token")
    *prefix, token = parts.path
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    port = f":{parts.port}" if parts.port else ""
    base = "/".join(["", *prefix]) if prefix else ""
    options: dict[str, Any] = {
        "url": f"{'https' if parts.scheme == 'mmosts' else 'http'}://{host}{port}{base}/hooks/{token}"
    }
    channels = [c.strip() for c in (parts.param("channel", "channels", "to") or "").split(",") if c.strip()]
    if len(channels) > 1:
        raise ValueError(f"{parts.scheme}:// URL: one channel per target")
    if channels:
        options["channel_name"] = channels[0].lstrip("#")
    if parts.param("botname") or parts.user:
        options["username"] = parts.param("botname") or parts.user
    if parts.param("icon_url"):
        options["icon_url"] = parts.param("icon_url")
    return options
