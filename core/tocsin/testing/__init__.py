"""Test helpers for tocsin and for channel authors (loaded by pytest through the ``pytest11`` entry point).

Fixtures (see :mod:`tocsin.testing.plugin`): ``http_sink``, ``smtp_sink``, ``make_notifier``,
``sample_events``, ``hostile_event``. A clock tests move by hand: :class:`FakeClock`. Servers:
:class:`HttpSink`, :class:`Reply`. The hostile corpus: :data:`HOSTILE_DATA`, :func:`hostile_event`,
:data:`HOSTILE_CORPUS`. Config files: :func:`write_config`. The conformance suite for channel plugins:
:class:`ChannelContract` (imported on first use, as it needs pytest).
"""

from typing import Any

from .clock import FakeClock
from .hostile import HOSTILE_CORPUS, HOSTILE_DATA, HOSTILE_STRINGS, MEGABYTE, hostile_event
from .sinks import FormPart, HttpSink, Recorded, Reply
from .toml import dumps as toml_dumps
from .toml import write_config

__all__ = [
    "HOSTILE_CORPUS",
    "HOSTILE_DATA",
    "HOSTILE_STRINGS",
    "MEGABYTE",
    "ChannelContract",
    "FakeClock",
    "FormPart",
    "HttpSink",
    "Recorded",
    "Reply",
    "hostile_event",
    "toml_dumps",
    "write_config",
]


def __getattr__(name: str) -> Any:
    if name == "ChannelContract":  # needs pytest: imported only when a test asks for it
        from .contract import ChannelContract

        return ChannelContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
