"""tocsin's conformance suite, run against the Teams channel."""

from __future__ import annotations

from tocsin.testing import ChannelContract, Reply


class TestTeamsContract(ChannelContract):
    channel = "teams"
    distribution = "tocsin-teams"
    success_reply = Reply(202)
    max_payload_bytes = 20_000  # the plugin's default max_bytes, under Teams' ~28 KB
    permanent_statuses = (400, 401, 403, 404, 413)

    def target_options(self, sink_url: str) -> dict[str, str]:
        return {"url": sink_url + "/workflows/abc/triggers/manual/paths/invoke?sig=contract-sig-secret"}
