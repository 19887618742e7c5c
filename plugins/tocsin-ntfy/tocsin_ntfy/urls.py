"""Apprise's ntfy URLs as targets: ``ntfy://`` (http) and ``ntfys://`` (https).

* ``ntfy://topic`` or ``ntfys://ntfy.sh/topic``: a topic on ntfy.sh (always over https);
* ``ntfys://host[:port]/topic`` (``ntfy://`` for plain http): a topic on your own server;
* ``ntfys://tk_…@host/topic`` or ``?token=tk_…``: with an access token.

``?tags=a,b`` adds tags. One topic per target. ntfy's user:password login is not supported (use a token).
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("ntfy", "ntfys")
PARAMS = ("token", "tags")
CLOUD = "ntfy.sh"


def from_url(url: str) -> dict[str, Any]:
    """The ``ntfy`` options an ``ntfy://`` or ``ntfys://`` URL describes; ValueError (never quoting it)."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    if parts.password is not None:
        raise ValueError(f"{parts.scheme}:// URL: user:password login is not supported; use a token (tk_…@host)")
    if not parts.path:  # ntfy://topic: a topic on ntfy.sh
        topics, server = [parts.host], f"https://{CLOUD}"
    else:
        topics = list(parts.path)
        if parts.host.lower() == CLOUD:
            server = f"https://{CLOUD}"
        else:
            port = f":{parts.port}" if parts.port else ""
            server = f"{'https' if parts.scheme == 'ntfys' else 'http'}://{parts.host}{port}"
    if len(topics) != 1 or not topics[0]:
        raise ValueError(f"{parts.scheme}:// URL: name one topic ({parts.scheme}://host/topic); one target per topic")
    options: dict[str, Any] = {"topic": topics[0], "url": server}
    token = parts.param("token") or parts.user
    if token:
        options["token"] = token
    if parts.param("tags"):
        options["tags"] = [t.strip() for t in (parts.param("tags") or "").split(",") if t.strip()]
    return options
