"""Apprise's Teams Workflows URL as a target: ``workflows://host[:port]/workflow/signature``.

It becomes the Workflows webhook URL (a secret) ``https://host:port/workflows/<workflow>/triggers/manual/
paths/invoke?api-version=2016-06-01&sp=…&sv=1.0&sig=<signature>``;
``?pa=yes`` uses the Power Automate form (``/powerautomate/automations/direct[/cu/<route>]/workflows/…``,
api-version 2022-03-01-preview), ``?route=`` its routing id, ``?ver=`` (or ``api-version``) another version.
``workflow://`` is the same. Apprise's legacy ``msteams://`` (Office 365 connectors, retired) is not read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("workflows", "workflow")
PARAMS = ("pa", "power_automate", "route", "routeid", "ver", "api-version", "id", "workflow", "sig", "signature")
WORKFLOW_VERSION, POWER_AUTOMATE_VERSION = "2016-06-01", "2022-03-01-preview"


def _yes(value: str | None) -> bool:
    return (value or "").strip().lower() in ("yes", "y", "true", "1", "on")


def from_url(url: str) -> dict[str, Any]:
    """The ``teams`` options a ``workflows://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    path = list(parts.path)
    workflow = parts.param("workflow", "id") or (path.pop(0) if path else None)
    signature = parts.param("signature", "sig") or (path.pop(0) if path else None)
    if not parts.host or not workflow or not signature or path:
        raise ValueError(f"{parts.scheme}:// URL: expected {parts.scheme}://host/workflow_id/signature")
    power_automate = _yes(parts.param("pa", "power_automate"))
    version = parts.param("ver", "api-version") or (POWER_AUTOMATE_VERSION if power_automate else WORKFLOW_VERSION)
    prefix = ""
    if power_automate:
        prefix = "/powerautomate/automations/direct"
        route = parts.param("route", "routeid")
        if route:
            prefix += f"/cu/{quote(route, safe='')}"
    port = f":{parts.port}" if parts.port else ""
    query = urlencode({"api-version": version, "sp": "/triggers/manual/run", "sv": "1.0", "sig": signature})
    path = f"{prefix}/workflows/{quote(workflow, safe='')}/triggers/manual/paths/invoke"
    return {"url": f"https://{parts.host}{port}{path}?{query}"}
