"""Apprise's Google Chat URL as a target: ``gchat://workspace/webhook_key/webhook_token[/thread_key]``.

The parts of a space's webhook URL, ``https://chat.googleapis.com/v1/spaces/<workspace>/messages?key=
<webhook_key>&token=<webhook_token>``, which the URL becomes (a secret); ``?workspace=``, ``?key=``,
``?token=`` may give them instead, and ``?thread=`` (or ``?threadKey=``) the thread key, which the
``thread_key`` option takes (so ``{placeholders}`` work in it too). tocsin's addition: ``?api_url=``
names another server than https://chat.googleapis.com (a proxy, a test server).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("gchat",)
PARAMS = ("workspace", "key", "token", "thread", "threadKey", "threadkey", "api_url")
GOOGLE = "https://chat.googleapis.com"


def from_url(url: str) -> dict[str, Any]:
    """The ``googlechat`` options a ``gchat://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    path = list(parts.path)
    workspace = parts.param("workspace") or parts.host
    key = parts.param("key") or (path.pop(0) if path else None)
    token = parts.param("token") or (path.pop(0) if path else None)
    thread = parts.param("thread", "threadKey", "threadkey") or (path.pop(0) if path else None)
    if not workspace or not key or not token:
        raise ValueError("gchat:// URL: expected gchat://workspace/webhook_key/webhook_token[/thread_key]")
    if path:
        raise ValueError("gchat:// URL: too many path segments (workspace/webhook_key/webhook_token/thread_key)")
    base = (parts.param("api_url") or GOOGLE).rstrip("/")
    query = urlencode({"key": key, "token": token})
    options: dict[str, Any] = {"url": f"{base}/v1/spaces/{quote(workspace, safe='')}/messages?{query}"}
    if thread:
        options["thread_key"] = thread
    return options
