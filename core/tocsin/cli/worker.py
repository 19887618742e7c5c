"""``tocsin worker``: a long-running dispatcher for a durable outbox.

It resumes every pending delivery of ``[delivery] store`` (including those a crashed process had
leased), sends what other processes put there (it looks every ``poll_interval`` seconds), retries along
the schedule, and prints each final outcome. SIGTERM or SIGINT stop it cleanly: attempts in flight get
``[delivery] close_timeout`` seconds, the rest stays pending for the next run; exit code 0.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from ..hookspecs import hookimpl
from ..messages import Outcome, Receipt
from .common import EXIT_OK, config_option, fail, open_notifier

__all__ = ["worker"]

MARKS = {Outcome.DELIVERED: "✓", Outcome.FAILED: "✗"}


class _Printer:
    """Prints each final outcome the worker reaches (a ``delivery_finished`` hook)."""

    def __init__(self) -> None:
        self.counts = {Outcome.DELIVERED: 0, Outcome.FAILED: 0}

    @hookimpl
    def delivery_finished(self, event: Any, message: Any, receipt: Receipt) -> None:
        self.counts[receipt.outcome] = self.counts.get(receipt.outcome, 0) + 1
        click.echo(f"{MARKS.get(receipt.outcome, '-')} {event.type} {event.id}  {receipt.summary()}", err=True)


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="Do not print each outcome.")
@config_option
def worker(quiet: bool, config: str | None) -> None:
    """Dispatch the durable outbox until stopped (SIGTERM/SIGINT): resume, retry, send what others queue."""
    notifier = open_notifier(config)
    settings = notifier.config.delivery
    if not settings.durable:
        fail(f'{notifier.config.label}: [delivery] store is "memory": a worker needs a durable store (sqlite:///…)')
    printer = _Printer()
    if not quiet:
        notifier.registry.register(printer, name="tocsin.worker-printer")
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    notifier.start()
    names = ", ".join(t.name for t in notifier.targets) or "none"
    click.echo(f"tocsin worker: dispatching {notifier.store.label} (targets: {names}); stop with Ctrl-C", err=True)
    while not stop.wait(0.5):
        pass
    click.echo(f"{received[0]}: stopping (in-flight attempts get {settings.close_timeout:g}s)", err=True)
    notifier.close(timeout=settings.close_timeout)
    delivered, failed = printer.counts[Outcome.DELIVERED], printer.counts[Outcome.FAILED]
    click.echo(f"tocsin worker: stopped ({delivered} delivered, {failed} dead this run)", err=True)
    sys.exit(EXIT_OK)
