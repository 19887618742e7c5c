"""tocsin's conformance suite, run against the mattermost channel."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tocsin_mattermost.limits import violations

from tocsin import Message
from tocsin.testing import ChannelContract, Reply


class TestMattermostContract(ChannelContract):
    channel = "mattermost"
    distribution = "tocsin-mattermost"
    success_reply = Reply(200, "ok")

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {"url": sink_url + "/hooks/contractsecretwebhookkey", "username": "tocsin"}

    def bad_options(self) -> dict[str, Any]:
        return {**super().bad_options(), "url": "ftp://nope", "channel_name": "Town Square", "icon_url": "x"}

    def check_message(self, message: Message, event: Any) -> None:
        assert violations(message.body) == []
        (attachment,) = message.body["attachments"]
        assert attachment["color"].startswith("#")

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        body = json.loads(payload)
        assert violations(body) == []
        assert "<!channel>" not in payload.decode() and "@everyone" not in json.dumps(body, ensure_ascii=False)
