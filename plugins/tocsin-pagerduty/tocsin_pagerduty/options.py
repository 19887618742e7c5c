"""The ``pagerduty`` channel's options: what a ``[[targets]]`` table with ``channel = "pagerduty"`` may hold.

Two tables decide what each tocsin severity becomes: ``actions`` (what is sent: an alert ``trigger``, a
``resolve`` or ``acknowledge`` of the run's alert, or a ``change`` event) and ``severities`` (the alert's
``payload.severity``). Their defaults are :data:`DEFAULT_ACTIONS` and :data:`DEFAULT_SEVERITIES`.
"""

from __future__ import annotations

import re

import attrs

from tocsin import Secret

__all__ = ["ACTIONS", "DEFAULT_ACTIONS", "DEFAULT_SEVERITIES", "PD_SEVERITIES", "PagerDutyOptions"]

#: What a tocsin severity can become: an alert event (trigger/acknowledge/resolve) or a change event.
ACTIONS = ("trigger", "acknowledge", "resolve", "change")
#: PagerDuty's alert severities (``payload.severity``).
PD_SEVERITIES = ("critical", "error", "warning", "info")
#: failure opens (or adds to) the run's alert, success resolves it, warning opens a low-urgency alert,
#: info (job started, user login, …) is a change event: context on the service, no page.
DEFAULT_ACTIONS = {"failure": "trigger", "warning": "trigger", "success": "resolve", "info": "change"}
#: Alert severity by tocsin severity; only trigger events carry one.
DEFAULT_SEVERITIES = {"failure": "error", "warning": "warning", "success": "info", "info": "info"}
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


def _check_table(name: str, table: dict[str, str], allowed: tuple[str, ...]) -> None:
    for severity, value in table.items():
        if severity not in DEFAULT_ACTIONS:
            raise ValueError(f"{name}: unknown severity {severity!r} (use {', '.join(DEFAULT_ACTIONS)})")
        if value not in allowed:
            raise ValueError(f"{name}: {severity} must be one of {', '.join(allowed)}, not {value!r}")


@attrs.frozen
class PagerDutyOptions:
    """Options of the ``pagerduty`` channel (an Events API v2 integration on a PagerDuty service)."""

    routing_key: Secret = attrs.field(
        metadata={
            "doc": "The integration key (service → Integrations → Events API V2), 32 characters. Secret: use ${ENV}."
        }
    )
    api_url: str = attrs.field(
        default="https://events.pagerduty.com",
        metadata={
            "doc": "The Events API's base URL: https://events.pagerduty.com, or https://events.eu.pagerduty.com "
            "for EU accounts. Alerts go to <api_url>/v2/enqueue, change events to <api_url>/v2/change/enqueue."
        },
    )
    actions: dict[str, str] = attrs.field(
        factory=dict,
        metadata={
            "doc": "What each severity sends: trigger, acknowledge, resolve or change, over the defaults "
            "failure=trigger warning=trigger success=resolve info=change."
        },
    )
    severities: dict[str, str] = attrs.field(
        factory=dict,
        metadata={
            "doc": "The alert's payload.severity (critical, error, warning, info) by severity, over the defaults "
            "failure=error warning=warning success=info info=info."
        },
    )
    source: str | None = attrs.field(
        default=None,
        metadata={"doc": "payload.source, the affected system (default: the event's instance, else its host)."},
    )
    component: str | None = attrs.field(
        default=None, metadata={"doc": "payload.component of alerts (default: the job or run name)."}
    )
    group: str | None = attrs.field(default=None, metadata={"doc": "payload.group of alerts, like prod-datapipe."})

    def __attrs_post_init__(self) -> None:
        if not _ROUTING_KEY.match(self.routing_key.reveal()):
            raise ValueError("routing_key: must be the 32-character integration key of an Events API V2 integration")
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError("api_url: must start with https:// or http:// (like https://events.pagerduty.com)")
        _check_table("actions", self.actions, ACTIONS)
        _check_table("severities", self.severities, PD_SEVERITIES)

    def action(self, severity: str) -> str:
        """What an event of ``severity`` sends."""
        return {**DEFAULT_ACTIONS, **self.actions}[severity]

    def pd_severity(self, severity: str) -> str:
        """The alert severity for an event of ``severity``."""
        return {**DEFAULT_SEVERITIES, **self.severities}[severity]
