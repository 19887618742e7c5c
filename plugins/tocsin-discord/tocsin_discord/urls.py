"""Apprise's Discord URL as a target: ``discord://[botname@]webhook_id/webhook_token[?thread=…]``.

The URL's webhook id and token become the webhook URL (``https://discord.com/api/webhooks/<id>/<token>``,
a secret); ``botname`` (before the ``@`` or ``?botname=``), ``avatar_url`` and ``thread`` become
``username``, ``avatar_url`` and ``thread_id``.
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("discord",)
PARAMS = ("botname", "avatar_url", "thread")


def from_url(url: str) -> dict[str, Any]:
    """The ``discord`` options a ``discord://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    if not parts.host or len(parts.path) != 1:
        raise ValueError("discord:// URL: expected discord://webhook_id/webhook_token")
    options: dict[str, Any] = {"url": f"https://discord.com/api/webhooks/{parts.host}/{parts.path[0]}"}
    username = parts.param("botname") or parts.user
    if username:
        options["username"] = username
    if parts.param("avatar_url"):
        options["avatar_url"] = parts.param("avatar_url")
    if parts.param("thread"):
        options["thread_id"] = parts.param("thread")
    return options
