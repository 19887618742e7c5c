"""The built-in ``console`` channel: prints each message to stdout (or stderr), as text or JSON.

It is what the embedded default config uses, so a fresh install does something real with no account,
and it is the smallest complete example of a channel: options, ``format_message`` and ``deliver``.

What it prints is bounded (:data:`TEXT_LIMIT` characters, the middle cut with a mark) and terminal-safe:
control characters (ANSI/OSC escapes), bidi overrides and lone surrogates in event data are shown as
visible escapes (:func:`tocsin.text.terminal_safe`), never sent to the terminal raw.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Literal

import attrs

from ..channel import Channel, Limit
from ..hookspecs import hookimpl
from ..messages import Message
from ..text import fit_json, terminal_safe, truncate_middle

#: The most characters one printed message has (before terminal escapes).
TEXT_LIMIT = 100_000

_write_lock = threading.Lock()


@attrs.frozen
class ConsoleOptions:
    """Options of the ``console`` channel."""

    stream: Literal["stdout", "stderr"] = attrs.field(default="stdout", metadata={"doc": "Where to print."})
    format: Literal["text", "json"] = attrs.field(
        default="text", metadata={"doc": "text: the console/*.txt.j2 template; json: the console/*.json.j2 document."}
    )


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            "console",
            ConsoleOptions,
            description="Print notifications to the terminal (built in).",
            limits=(Limit("text", TEXT_LIMIT), Limit("wire", TEXT_LIMIT * 6 + 8, unit="bytes")),
            test_options=lambda servers: [{}, {"format": "json"}],
        )
    ]


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message | None:
    if target.options.format == "json":
        body, _cut = fit_json(templates.render_json(event, target), TEXT_LIMIT)
        return Message.for_event(event, target, body=body)
    return Message.for_event(event, target, text=truncate_middle(templates.render_text(event, target), TEXT_LIMIT))


def _write(stream_name: str, text: str) -> None:
    stream = sys.stdout if stream_name == "stdout" else sys.stderr
    with _write_lock:
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Any:
    text = json.dumps(message.body, ensure_ascii=False, indent=2) if message.body is not None else message.text or ""
    return transport.run_sync(_write, target.options.stream, terminal_safe(text))
