"""The conformance suite run against the built-in ``console`` channel, adapted for a non-HTTP channel.

The console is built into the core (no entry point, distribution ``tocsin``), prints instead of sending
over HTTP (the ``sink`` is pytest's ``capsys``), has no secret and no required option. The checks that
need an HTTP server or a secret skip themselves and say why; the others run as they do for any plugin.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tocsin.testing import ChannelContract


class TestConsoleContract(ChannelContract):
    channel = "console"
    distribution = "tocsin"
    entry_point = False  # registered by the core itself
    http = False  # prints to stdout
    sends_json = True  # with format = "json": the console/*.json.j2 document

    def target_options(self, sink_url: Any) -> dict[str, Any]:
        return {"format": "json"}

    @pytest.fixture
    def sink(self, capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
        return capsys

    def sink_url(self, sink: Any) -> None:
        return None

    def last_payload(self, sink: pytest.CaptureFixture[str]) -> bytes:
        return sink.readouterr().out.encode("utf-8")

    def wire_bytes_since(self, sink: pytest.CaptureFixture[str], since: int) -> bytes:
        return self.last_payload(sink)  # what was printed since the last read

    def check_message(self, message: Any, event: Any) -> None:
        assert message.body["type"] == event.type
        assert message.body["severity"] == str(event.severity)

    def check_hostile(self, message: Any, payload: bytes, headers: Any) -> None:
        printed = json.loads(payload)
        assert printed["data"]["status"] == '"}],"injected":true,"x":[{"'  # kept as data, not syntax
        assert printed["data"]["error"].endswith("…")  # a 1 MB error is cut: what is printed is bounded
        assert len(payload) < 1024 * 1024

    def check_cli_test(self, sink: Any, result: subprocess.CompletedProcess[str], seen_before: int | None) -> None:
        assert json.loads(result.stdout)["title"] == "tocsin test notification: this target works"
