"""tocsin's conformance suite, run against the PagerDuty channel."""

from __future__ import annotations

from typing import Any

from tocsin.testing import ChannelContract, Reply

ACCEPTED = Reply(202, {"status": "success", "message": "Event processed", "dedup_key": "contract:run-0042"})


class TestPagerDutyContract(ChannelContract):
    channel = "pagerduty"
    distribution = "tocsin-pagerduty"
    success_reply = ACCEPTED
    max_payload_bytes = 512 * 1024  # PagerDuty's limit for one event

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {"api_url": sink_url, "routing_key": "R0CONTRACT0routing0key0123456789"}

    def bad_options(self) -> dict[str, Any]:
        return {
            **super().bad_options(),
            "routing_key": "not-a-routing-key",
            "api_url": "ftp://events.example.org",
            "actions": {"failure": "page"},
            "severities": {"warning": "high"},
        }
