"""Apprise's email URLs as targets: ``mailto://`` and ``mailtos://``.

``mailtos://user:password@example.org[:port][/to@x.org/…]?smtp=smtp.example.org&from=…&name=…&mode=ssl``:

* the server is ``?smtp=`` or else the URL's host; ``mailto://`` is plain SMTP (port 25) and
  ``mailtos://`` STARTTLS (587) unless ``?mode=`` says ``starttls``, ``ssl`` (465) or ``insecure``;
* ``user:password`` log in (the password is a secret);
* the sender is ``?from=`` (with ``?name=`` as display name), else ``user@host`` (or ``user`` when it
  is an address already);
* recipients are the path's addresses and ``?to=``, else the sender; ``?cc=``, ``?bcc=``, ``?reply=``
  take comma-separated addresses.

Apprise's table of well-known providers (which SMTP host serves gmail.com …) is not copied: name the
server with ``?smtp=`` when it is not the URL's host.
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("mailto", "mailtos")
PARAMS = ("smtp", "from", "name", "mode", "to", "cc", "bcc", "reply")
MODES = {"starttls": "starttls", "ssl": "ssl", "insecure": "none"}


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def from_url(url: str) -> dict[str, Any]:
    """The ``email`` options a ``mailto://`` or ``mailtos://`` URL describes; ValueError (never quoting it)."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    host = parts.param("smtp") or parts.host
    if not host:
        raise ValueError(f"{parts.scheme}:// URL: no server ({parts.scheme}://user:password@host or ?smtp=host)")
    mode = (parts.param("mode") or ("starttls" if parts.scheme == "mailtos" else "insecure")).lower()
    if mode not in MODES:
        raise ValueError(f"{parts.scheme}:// URL: mode must be one of {', '.join(MODES)}")
    sender = parts.param("from")
    if not sender:
        if not parts.user:
            raise ValueError(f"{parts.scheme}:// URL: no sender: give user@host or ?from=address")
        sender = parts.user if "@" in parts.user else f"{parts.user}@{parts.host}"
    if parts.param("name"):
        sender = f'"{parts.param("name")}" <{sender}>'
    options: dict[str, Any] = {
        "host": host,
        "security": MODES[mode],
        "from": sender,
        "to": [*parts.path, *_list(parts.param("to"))] or [sender],
    }
    if parts.port:
        options["port"] = parts.port
    if parts.user and parts.password is not None:
        options.update(user=parts.user, password=parts.password)
    for key, option in (("cc", "cc"), ("bcc", "bcc"), ("reply", "reply_to")):
        if parts.param(key):
            options[option] = _list(parts.param(key))
    return options
