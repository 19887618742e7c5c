"""Apprise's PagerDuty URL as a target: ``pagerduty://integration_key@api_key[/source[/component]]``.

The integration key is the ``routing_key`` (a secret) the Events API v2 needs; the REST API key Apprise
also asks for is not used (it may be left out: ``pagerduty://integration_key@x``). ``source``,
``component`` (in the path or the query) and ``group`` fill the alert's payload; ``?region=eu`` sends
to events.eu.pagerduty.com.
"""

from __future__ import annotations

from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("pagerduty",)
PARAMS = ("integrationkey", "apikey", "source", "component", "group", "region")


def from_url(url: str) -> dict[str, Any]:
    """The ``pagerduty`` options a ``pagerduty://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    key = parts.param("integrationkey") or parts.user
    if not key:
        raise ValueError("pagerduty:// URL: expected pagerduty://integration_key@api_key[/source[/component]]")
    options: dict[str, Any] = {"routing_key": key}
    path = list(parts.path)
    for name in ("source", "component"):
        value = parts.param(name) or (path.pop(0) if path else None)
        if value:
            options[name] = value
    if parts.param("group"):
        options["group"] = parts.param("group")
    region = (parts.param("region") or "us").lower()
    if region not in ("us", "eu"):
        raise ValueError("pagerduty:// URL: region must be us or eu")
    if region == "eu":
        options["api_url"] = "https://events.eu.pagerduty.com"
    return options
