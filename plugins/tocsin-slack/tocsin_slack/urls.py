"""Apprise's Slack URLs as targets.

* ``slack://[botname@]TokenA/TokenB/TokenC``: the incoming webhook
  ``https://hooks.slack.com/services/TokenA/TokenB/TokenC`` (a secret); ``botname`` is the ``username``.
* ``slack://[botname@]xoxb-…/CHANNEL``: the Web API with that bot token and one channel (a channel ID
  ``C…``, ``#name``, or a member ID ``U…`` for a direct message), as ``token`` and ``channel_id``.

A webhook posts to the channel it was made for, so a webhook URL names no channel; a bot URL names
exactly one (one target per channel).
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("slack",)
PARAMS = ("botname", "to")


def from_url(url: str) -> dict[str, Any]:
    """The ``slack`` options a ``slack://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    first = parts.host
    rest = [*parts.path, *(c for c in (parts.param("to") or "").split(",") if c)]
    options: dict[str, Any] = {}
    if parts.param("botname") or parts.user:
        options["username"] = parts.param("botname") or parts.user
    if first.startswith("xo"):
        if len(rest) != 1:
            raise ValueError("slack:// URL: a bot token URL names one channel: slack://xoxb-…/C0123456789")
        return {**options, "token": first, "channel_id": rest[0]}
    if len(rest) != 2 or not first:
        raise ValueError(
            "slack:// URL: expected slack://TokenA/TokenB/TokenC (a webhook, which posts to its own channel) "
            "or slack://xoxb-…/CHANNEL"
        )
    return {**options, "url": f"https://hooks.slack.com/services/{first}/{rest[0]}/{rest[1]}"}
