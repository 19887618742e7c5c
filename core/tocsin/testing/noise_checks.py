"""The plugin-contract check of a channel's declared rate limit (noise control), mixed into the contract.

A channel declares its platform's documented sending limit (``Channel(rate_limit="30/1m")``). The check
sends a burst one past the limit to a target that keeps the channel's default, through the real channel
and a local server, with the notifier's clock faked: the first ``N`` are delivered, the rest held, and when
the window opens they go as ONE digest, formatted by the channel's own templates (``<channel>/digest.*``
or its ``default``), every held event merged into it. The other contract checks send to targets with
``rate_limit = "off"`` (they test formatting and delivery, not pacing).
"""

from __future__ import annotations

from typing import Any

from ..events import Event
from ..messages import Outcome
from ..plugins import PluginRegistry
from .clock import FakeClock

__all__ = ["NoiseChecks"]


class NoiseChecks:
    """Noise-control checks for :class:`tocsin.testing.ChannelContract` (needs its ``channel`` and ``target``)."""

    channel: str

    def target(self, sink: Any, **keys: Any) -> dict[str, Any]:  # pragma: no cover - the contract's
        raise NotImplementedError

    def test_declared_rate_limit_holds_a_burst_for_one_digest(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """Beyond the channel's declared ``rate_limit`` deliveries are held, then sent as one digest."""
        import pytest

        rate = PluginRegistry().channel(self.channel).spec.default_rate_limit
        if rate is None:
            pytest.skip(f"channel {self.channel!r} declares no rate_limit (its platform documents none)")
        table = self.target(sink)
        table.pop("rate_limit", None)  # the channel's own default
        clock = FakeClock()
        notifier = tocsin_make_notifier([table], clock=clock)
        name = table["name"]
        events = [Event("job_failed", data={"run_id": f"burst-{i}"}) for i in range(rate.count + 2)]
        outcomes = [notifier.notify(event)[name].outcome for event in events]
        assert outcomes == [Outcome.DELIVERED] * rate.count + [Outcome.HELD] * 2, outcomes
        clock.advance(rate.period + 1)
        assert notifier.flush(20)
        rows = notifier.store.rows(limit=rate.count + 10)
        digests = [r for r in rows if r.message.event_type == "digest"]
        assert [r.state for r in digests] == ["delivered"], [(r.state, r.last_error) for r in digests]
        merged = {r.event_id for r in rows if r.state == "merged"}
        assert merged == {e.id for e in events[rate.count :]}
