"""Apprise's JSON URLs as targets: ``json://`` (http) and ``jsons://`` (https).

``jsons://[user[:password]@]host[:port]/path?method=PUT&+X-Header=value&-param=value``: the request goes
to ``https://host:port/path`` (a secret, as every webhook URL); ``user:password`` becomes an
``Authorization: Basic`` header, each ``+Name=value`` a header (values are secrets), each ``-name=value``
a query parameter of the request URL. The body is tocsin's signed JSON document (Apprise's ``:key``
payload remapping has no counterpart: use a ``template``). ``?secret=`` signs it (Standard Webhooks).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlencode

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("json", "jsons")
PARAMS = ("method", "secret")


def from_url(url: str) -> dict[str, Any]:
    """The ``webhook`` options a ``json://`` or ``jsons://`` URL describes; ValueError (never quoting it)."""
    parts = split_url(url)
    parts.check_params(PARAMS, prefixes="+-")
    if any(key.startswith(":") for key, _ in parts.query):
        raise ValueError(f"{parts.scheme}:// URL: :key payload mapping is not supported; use a body template")
    if not parts.host:
        raise ValueError(f"{parts.scheme}:// URL: no host ({parts.scheme}://host[:port]/path)")
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    port = f":{parts.port}" if parts.port else ""
    path = "/".join(quote(segment, safe="") for segment in parts.path)
    params = [(key[1:], value) for key, value in parts.query if key.startswith("-")]
    target = f"{'https' if parts.scheme == 'jsons' else 'http'}://{host}{port}/{path}"
    options: dict[str, Any] = {"url": target + (f"?{urlencode(params)}" if params else "")}
    headers = {key[1:]: value for key, value in parts.query if key.startswith("+")}
    if parts.user:
        login = f"{parts.user}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(login).decode("ascii")
    if headers:
        options["headers"] = headers
    method = parts.param("method")
    if method:
        options["method"] = method.upper()
    if parts.param("secret"):
        options["secret"] = parts.param("secret")
    return options
