"""tocsin's conformance suite, run against the signed JSON webhook channel."""

from __future__ import annotations

from tocsin.testing import ChannelContract, Reply


class TestWebhookContract(ChannelContract):
    channel = "webhook"
    distribution = "tocsin-webhook"
    success_reply = Reply(204)

    def target_options(self, sink_url: str) -> dict[str, object]:
        return {
            "url": sink_url + "/hooks/tocsin",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "headers": {"Authorization": "Bearer contract-bearer-secret"},
        }
