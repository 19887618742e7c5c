"""The pytest plugin (entry point ``pytest11: tocsin``): fixtures for tocsin and channel authors.

* ``tocsin_http_sink`` — an :class:`~tocsin.testing.HttpSink` on 127.0.0.1, closed after the test.
* ``tocsin_smtp_sink`` — an SMTP server on 127.0.0.1 recording messages (needs ``aiosmtpd``).
* ``tocsin_make_notifier`` — ``tocsin_make_notifier(targets, notifications={...}, source={...}, events={...},
  users={...}, delivery={...})`` writes a real ``tocsin.toml`` in the test's temp folder and returns
  ``Notifier.from_file(..., strict=True)`` (closed after the test; ``strict=False`` keeps broken targets as
  failed receipts). Retries back off in milliseconds so retry tests stay quick.
* ``tocsin_sample_events`` — one sample event of each standard type.
* ``tocsin_hostile_event`` — the factory :func:`tocsin.testing.hostile_event`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ..events import EVENT_TYPES, Event
from ..notifier import Notifier
from ..samples import sample_event
from .hostile import hostile_event as _hostile_event
from .sinks import HttpSink
from .toml import write_config

#: Settings that keep retry tests fast; a test's own ``notifications`` overrides them.
FAST_SETTINGS = {
    "timeout": 5.0,
    "max_retries": 3,
    "retry_backoff": 0.01,
    "retry_backoff_max": 2.0,  # also the longest Retry-After a test may honour
    "retry_deadline": 30.0,
}


@pytest.fixture
def tocsin_http_sink() -> Iterator[HttpSink]:
    """A recording HTTP server on 127.0.0.1 (answers 200 "ok" unless scripted)."""
    with HttpSink() as sink:
        yield sink


@pytest.fixture
def tocsin_smtp_sink() -> Iterator[Any]:
    """A recording SMTP server on 127.0.0.1 (plain, no auth). See ``tocsin.testing.smtp`` for TLS/AUTH."""
    pytest.importorskip("aiosmtpd", reason="the smtp_sink fixture needs aiosmtpd (pip install tocsin[testing])")
    from .smtp import SmtpSink

    with SmtpSink() as sink:
        yield sink


NotifierFactory = Callable[..., Notifier]


@pytest.fixture
def tocsin_make_notifier(tmp_path: Path) -> Iterator[NotifierFactory]:
    """Build a notifier from a real config file: ``tocsin_make_notifier([{"name": ..., "channel": ...}])``."""
    made: list[Notifier] = []

    def factory(
        targets: Sequence[Mapping[str, Any]],
        *,
        notifications: Mapping[str, Any] | None = None,
        source: Mapping[str, Any] | None = None,
        path: Path | None = None,
        plugins: Sequence[Any] = (),
        events: Mapping[str, Any] | None = None,
        users: Mapping[str, Any] | None = None,
        delivery: Mapping[str, Any] | None = None,
        strict: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> Notifier:
        attachments = {"attachment_dir": str(tmp_path / "attachments")}  # never the user's own state folder
        data: dict[str, Any] = {"notifications": {**FAST_SETTINGS, **attachments, **(notifications or {})}}
        if source:
            data["source"] = dict(source)
        for key, tables in (("events", events), ("users", users)):
            if tables:
                data[key] = {name: dict(table) for name, table in tables.items()}
        if delivery:
            data["delivery"] = dict(delivery)
        data["targets"] = [dict(t) for t in targets]
        config = write_config(path or tmp_path / "tocsin.toml", data)
        notifier = Notifier.from_file(config, plugins=plugins, strict=strict, clock=clock)
        made.append(notifier)
        return notifier

    yield factory
    for notifier in made:
        notifier.close()


@pytest.fixture
def tocsin_sample_events() -> list[Event]:
    """One sample event (dummy data) of each standard event type."""
    return [sample_event(name) for name in EVENT_TYPES]


@pytest.fixture
def tocsin_hostile_event() -> Callable[..., Event]:
    """The hostile-event factory: ``hostile_event("job_failed")``."""
    return _hostile_event
