"""The channels the tocsin rows of ``bench/run.py`` use: a deployment's own plugin object, no package.

``benchhttp`` is a generic HTTP channel as small as a real one: options as an attrs class (the URL a
:class:`tocsin.Secret`), ``format_message`` building the JSON document from the event, ``deliver``
returning ``transport.post_json(...)``. ``benchnull`` formats the same document and delivers nothing
(an already-finished coroutine), so the no-network row measures the core alone: routing, formatting
hooks, the delivery engine, receipts and the report.

It depends on nothing but the core, so the benchmark runs with no channel plugin installed.
"""

from __future__ import annotations

from typing import Any

import attrs

from tocsin import Channel, Message, Response, Secret, hookimpl

__all__ = ["BenchHttpOptions", "BenchPlugin"]

CHANNELS = ("benchhttp", "benchnull")
_DONE = Response(204)


@attrs.frozen
class BenchHttpOptions:
    """Options of the ``benchhttp`` channel."""

    url: Secret = attrs.field(metadata={"doc": "Where to POST the event."})


async def _delivered() -> Response:
    return _DONE


class BenchPlugin:
    """Registered as an object: ``Notifier(config, plugins=[BenchPlugin()])``."""

    @hookimpl
    def tocsin_channels(self) -> list[Channel]:
        return [
            Channel("benchhttp", BenchHttpOptions, description="POST the event as JSON (benchmark)."),
            Channel("benchnull", description="Format, then deliver nothing at once (benchmark)."),
        ]

    @hookimpl
    def format_message(self, event: Any, target: Any, templates: Any) -> Message | None:
        if target.channel not in CHANNELS:
            return None
        body = {
            "type": event.type,
            "id": event.id,
            "title": event.title,
            "severity": event.severity.value,
            "timestamp": event.occurred_at.isoformat(),
            "data": event.data,
        }
        return Message.for_event(event, target, body=body)

    @hookimpl
    def deliver(self, message: Message, target: Any, transport: Any) -> Any:
        if target.channel == "benchhttp":
            return transport.post_json(target.options.url, message.body)
        if target.channel == "benchnull":
            return _delivered()
        return None
