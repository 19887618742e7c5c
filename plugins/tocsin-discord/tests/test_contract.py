"""tocsin's conformance suite, run against the Discord channel."""

from __future__ import annotations

from tocsin.testing import ChannelContract, Reply


class TestDiscordContract(ChannelContract):
    channel = "discord"
    distribution = "tocsin-discord"
    success_reply = Reply(204)
    max_payload_bytes = 6000 * 4 + 2000 * 4 + 4096  # every text limit at 4 bytes a character, plus JSON

    def target_options(self, sink_url: str) -> dict[str, str]:
        return {"url": sink_url + "/api/webhooks/123456/contract-webhook-token"}
