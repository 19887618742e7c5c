"""tocsin's conformance suite, run against both Slack channels."""

from __future__ import annotations

import pytest

from tocsin.testing import ChannelContract, HttpSink, Reply

from .test_slack_files import FakeSlack


class TestSlackWebhookContract(ChannelContract):
    channel = "slack"
    distribution = "tocsin-slack"
    success_reply = Reply(200, "ok")

    def target_options(self, sink_url: str) -> dict[str, str]:
        return {"url": sink_url + "/services/T000/B000/contractsecret"}


class TestSlackApiContract(ChannelContract):
    channel = "slack-api"
    distribution = "tocsin-slack"
    success_reply = Reply(200, {"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"})
    cli = False  # the webhook class runs the CLI checks
    template_folder = "slack"  # both Slack channels render slack/… templates

    @pytest.fixture
    def sink(self, tocsin_http_sink: HttpSink) -> HttpSink:
        FakeSlack(tocsin_http_sink)  # answers files.* too, as Slack does, for the attachment checks
        return tocsin_http_sink

    def target_options(self, sink_url: str) -> dict[str, str]:
        return {
            "token": "xoxb-contract-secret-token",
            "channel_id": "C0123456789",
            "api_url": sink_url + "/api/chat.postMessage",
        }
