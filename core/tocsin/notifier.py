"""The :class:`Notifier`: the one object a host application holds, a thin front over a one-way pipeline.

prepare (``prepare_event`` hooks, ``[source]``) → route (:mod:`tocsin.routing`) → format (each target's
``format_message``) → dispatch (:mod:`tocsin.delivery`: the outbox, a lane per target, retries). The
Notifier itself only wires the stages, and owns ``from_file``, the sync/async bridge and the lifecycle
(the dispatcher thread, ``flush``, ``close``, the drain at interpreter exit). Noise control (dedup,
rate limits, digests, quiet hours) is :class:`tocsin.delivery.noise.NoiseControl`, wired in here.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .attachment_store import AttachmentStore
from .config import Config, Target, default_config, find_config, load_config, structure_targets
from .delivery.noise import NoiseControl
from .delivery.stores import HELD, Delivery, Outbox, event_from_dict, event_to_dict, open_store
from .delivery.submission import QueueFullError, Submission, Tracker
from .events import Event
from .messages import Message, Outcome, Receipt, Report
from .pipeline import Stages, describe_error, prepare_event
from .plugins import PluginRegistry
from .routing import Subscription, delivery_order
from .samples import SampleSends
from .secrets import find_secrets, redact
from .templating import Templates

if TYPE_CHECKING:
    from .delivery.dispatcher import Dispatcher

__all__ = ["Notifier", "QueueFullError"]

log = logging.getLogger("tocsin")
CLOSED = "not delivered: notifier closed"


class Notifier(Stages, SampleSends):
    """Routes events to targets, formats them, and delivers them in the background, with retries.

    Build it from a config file (:meth:`from_file`) or from the attrs classes (``Notifier(Config(...))``);
    with neither, every event goes to the console. :meth:`submit` returns at once with a
    :class:`~tocsin.delivery.Submission`; :meth:`notify` (sync) and :meth:`anotify` (async) submit and
    wait for the :class:`Report`. Close it (or use it as a context manager): :meth:`close` lets pending
    deliveries finish within a grace time and never hangs.

    ``clock`` (``time.time`` by default) is where noise control and the dispatcher read the time; tests
    pass a fake one (:class:`tocsin.testing.FakeClock`) to move through rate-limit windows and quiet hours.

    >>> with Notifier.from_file("tocsin.toml") as notifier:          # doctest: +SKIP
    ...     report = notifier.notify(Event("job_failed", data={"run_name": "nightly", "error": "disk full"}))
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        registry: PluginRegistry | None = None,
        plugins: Iterable[Any] = (),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.registry = registry or PluginRegistry()
        for plugin in plugins:
            self.registry.register(plugin)
        config = config if config is not None else default_config()
        for spec in config.settings.plugins:
            self.registry.load_local(spec)
        self.config = attrs.evolve(config, targets=structure_targets(config.targets, self.registry, config.label))
        self.templates = Templates(self.registry, self.config.settings.template_dirs)
        self._extras: dict[str, Target] = {}
        self._tracker = Tracker(self.config.delivery.max_pending)
        self._store: Outbox | None = None
        self._dispatcher: Dispatcher | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._at_exit = functools.partial(_close_at_exit, weakref.ref(self))
        settings = self.config.settings
        self.attachments = AttachmentStore(
            settings.attachment_dir, retention=settings.attachment_retention, limit=settings.max_attachment_bytes
        )
        self.noise = NoiseControl(
            self.config,
            self.registry,
            format=self.format,
            prepare=lambda event: prepare_event(event, self.config, self.registry),
            release=self.attachments.release,
            target=lambda name: self._extras.get(name) or self.config.target(name),
            clock=clock,
        )
        self.clock = self.noise.clock

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        registry: PluginRegistry | None = None,
        plugins: Iterable[Any] = (),
        strict: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> Notifier:
        """A notifier from ``path``, else ``$TOCSIN_CONFIG``, else ``./tocsin.toml``, else the default.

        A target that cannot be used (unset ``${VAR}``, its plugin fails to import, an invalid option)
        fails each event routed to it with its config message while the others work; ``strict=True``
        raises ConfigError instead, as ``tocsin check`` does.
        """
        registry = registry or PluginRegistry()
        for plugin in plugins:
            registry.register(plugin)
        return cls(load_config(find_config(path), registry, strict=strict), registry=registry, clock=clock)

    def _accept(
        self, event: Event, targets: Sequence[str] | None, extra_targets: Sequence[Any], subscriptions: Any
    ) -> tuple[Event, list[Receipt], list[Delivery], Callable[[str], Any]]:
        """prepare → route → format: the receipts known now, and the deliveries to dispatch."""
        event = self.prepare(event)
        routes = self.route(event, targets=targets, extra_targets=extra_targets, subscriptions=subscriptions)
        receipts = [*routes.skipped, *routes.failed]
        configured = self.config.order()
        order = delivery_order([*configured, *(t.name for t in routes.targets if t.name not in configured)])
        stored = event_to_dict(event) if self.config.delivery.durable else event  # memory keeps the object
        rows, now = [], self.clock()
        for target in routes.targets:
            if target.name not in configured:
                self._extras[target.name] = target  # extra or per-person: the dispatcher resolves it by name
            try:
                message = self.format(event, target)
            except Exception as exc:
                error = redact(describe_error(exc), find_secrets(target.options))
                receipts.append(Receipt(target.name, target.channel, Outcome.FAILED, error=f"cannot format: {error}"))
                self._finished(event, None, receipts[-1])
                continue
            self.attachments.hold(message.attachments)  # each delivery keeps its files until its final outcome
            row = Delivery(event.id, target.name, message, stored, next_at=now, created_at=now)
            rows.append(self.noise.plan(row, event, target, now))
        self.attachments.release(event.attachments)  # the event's own hold, taken when prepare() staged them
        return event, receipts, rows, order

    # -- dispatch --------------------------------------------------------------------------------
    @property
    def store(self) -> Outbox:
        """The outbox ``[delivery] store`` names, opened on first use."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.config.delivery.store)
            return self._store

    def start(self) -> None:
        """Start dispatching now (submit does it on first use); with a durable store, resume its pending deliveries."""
        self._engine()

    def _engine(self) -> Dispatcher:
        with self._lock:
            if self._dispatcher is None:
                from .delivery.dispatcher import Dispatcher  # asyncio and the HTTP stack: when first needed

                self._dispatcher = Dispatcher(
                    self.store,
                    self.config,
                    targets=lambda: {**{t.name: t for t in self.config.targets}, **self._extras},
                    hooks_for=self.registry.hook_for,
                    outcome=self._outcome,
                    noise=self.noise,
                )
                atexit.register(self._at_exit)
            return self._dispatcher

    def _enqueue(
        self, event: Event, receipts: list[Receipt], rows: list[Delivery], order: Callable[[str], Any]
    ) -> Submission:
        futures = {}
        if rows and self._closed:
            receipts += [Receipt(r.target, r.channel, Outcome.FAILED, error=CLOSED) for r in rows]
            for row in rows:
                self.attachments.release(row.message.attachments)
            rows = []
        if rows:
            dispatcher = self._engine()
            futures = {row.target: self._tracker.watch(row.key, row.target, row.channel) for row in rows}
            backoff_max = self.config.settings.retry_backoff_max
            self._tracker.put(
                self.store,
                rows,
                backoff_max,
                self.clock(),
                held=self.noise.held_receipt,
                dropped=lambda row: self.attachments.release(row.message.attachments),
            )
            dispatcher.wake()
        return Submission(event.id, event.type, order, receipts, futures)

    def submit(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
        wait: float | None = None,
    ) -> Submission:
        """Route and format ``event`` now, queue its deliveries, and return at once with a Submission.

        ``targets`` names targets to send to whatever their rules; ``extra_targets`` are destinations the
        submitter asks for. When ``[delivery] max_pending`` deliveries already wait, submit waits up to
        ``wait`` seconds (default ``[delivery] queue_full_wait``) for room, then raises QueueFullError.
        Raises ConfigError for a bad ``targets`` name or ``extra_targets`` entry; never for a delivery.
        """
        event, receipts, rows, order = self._accept(event, targets, extra_targets, subscriptions)
        wait = self.config.delivery.queue_full_wait if wait is None else wait
        if rows and not self._tracker.reserve(len(rows), wait):
            raise self._queue_full(wait)
        return self._enqueue(event, receipts, rows, order)

    async def asubmit(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
        wait: float | None = None,
    ) -> Submission:
        """:meth:`submit` for async code: waiting for room in a full queue does not block the event loop."""
        event, receipts, rows, order = self._accept(event, targets, extra_targets, subscriptions)
        wait = self.config.delivery.queue_full_wait if wait is None else wait
        deadline = time.monotonic() + wait
        import asyncio

        while rows and not self._tracker.fits(len(rows)):
            if time.monotonic() >= deadline:
                raise self._queue_full(wait)
            await asyncio.sleep(0.01)
        return self._enqueue(event, receipts, rows, order)

    def _queue_full(self, wait: float) -> QueueFullError:
        return QueueFullError(
            f"{self._tracker.outstanding} deliveries are pending ([delivery] max_pending = "
            f"{self._tracker.max_pending}) and none finished within {wait:g}s"
        )

    def notify(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
    ) -> Report:
        """Submit ``event`` and wait for its report (one receipt per target). Safe from any thread.

        Never raises for a delivery or formatting failure (those are failed receipts); raises
        ConfigError only for a bad ``targets`` name or ``extra_targets`` entry.
        """
        return self.submit(event, targets=targets, extra_targets=extra_targets, subscriptions=subscriptions).result()

    async def anotify(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
    ) -> Report:
        """:meth:`notify` for async code (from any event loop; the sending happens in the dispatcher)."""
        return await (
            await self.asubmit(event, targets=targets, extra_targets=extra_targets, subscriptions=subscriptions)
        )

    def _outcome(self, row: Delivery, receipt: Receipt, final: bool) -> None:
        """From the dispatcher: a delivery's final (or parked) outcome."""
        if final:  # before the waiter wakes: once the report is out, its files are gone
            self.attachments.release(row.message.attachments)
        waited = self._tracker.resolve(row.key, receipt)
        if not final:
            return
        if receipt.outcome is Outcome.FAILED and not waited:
            log.warning("target %s: delivery of event %s failed: %s", row.target, row.event_id, receipt.error)
        self._finished(event_from_dict(row.event, row.event_id, row.message.event_type), row.message, receipt)

    def _finished(self, event: Event, message: Message | None, receipt: Receipt) -> None:
        try:
            self.registry.hook.delivery_finished(event=event, message=message, receipt=receipt)
        except Exception:
            log.exception("a delivery_finished hook failed (ignored)")

    # -- lifecycle -------------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every delivery submitted here has a final outcome or is parked in a durable store,
        and every held delivery (noise control) that comes due within ``timeout`` seconds (by default
        ``retry_backoff_max``) is sent: a digest whose window opens in 3 s is sent, then flush returns True.

        Returns False when ``timeout`` seconds passed first (nothing is cancelled). Held deliveries due
        later (quiet hours until morning) stay held: they are accounted for, not waited for.
        """
        horizon = self.config.settings.retry_backoff_max if timeout is None else timeout
        return self._tracker.settle(self._dispatcher, timeout, horizon)

    def drain(self, timeout: float | None = None) -> bool:
        """Attempt every pending delivery of the store now, whatever its next attempt time (``tocsin outbox drain``);
        held ones go now as their digests, rate limits lifted (an operator's "send it now").

        Returns True when nothing is left in flight or due soon (what failed again is rescheduled).
        """
        dispatcher = self._engine()
        # Limits lifted before the rows are made due: a claim that runs in between (the dispatcher starts
        # claiming at once) would otherwise hold them again under the rate limit, due an hour later.
        dispatcher.lift_rate_limits()
        self.store.make_due(self.clock())
        return dispatcher.until_idle(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting, let pending deliveries finish for up to ``timeout`` seconds, then stop; never hangs.

        ``timeout`` defaults to ``[delivery] close_timeout``. What is left stays pending (or held) in a
        durable store (the next notifier or ``tocsin worker`` resumes it); in memory each waiting caller
        gets a failed receipt "not delivered: notifier closed", and held deliveries are released at once
        (sent as digests within the timeout, under the rate limit), since nothing outlives the process.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            dispatcher = self._dispatcher
        atexit.unregister(self._at_exit)
        timeout = self.config.delivery.close_timeout if timeout is None else timeout
        started = time.monotonic()
        if dispatcher is not None and not dispatcher.in_dispatcher_thread:
            if self._store is not None and not self._store.durable:  # nothing outlives us: held ones go now
                self._store.make_due(self.clock(), states=(HELD,))
                dispatcher.lift_rate_limits()
            self.flush(timeout)
        if dispatcher is not None:
            dispatcher.stop(max(0.0, timeout - (time.monotonic() - started)))
        durable = self._store is not None and self._store.durable
        left = self._tracker.abandon(durable, CLOSED)
        if left and not durable:
            log.warning("%d deliveries %s (the memory store keeps nothing)", left, CLOSED)
        if self._store is not None and (dispatcher is None or not dispatcher.in_dispatcher_thread):
            self._store.close()

    async def aclose(self, timeout: float | None = None) -> None:
        """:meth:`close` for async code: the event loop keeps running while the notifier drains."""
        import asyncio

        await asyncio.to_thread(self.close, timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _close_at_exit(ref: weakref.ref[Notifier]) -> None:
    notifier = ref()
    if notifier is not None and not notifier.closed:
        notifier.close(notifier.config.delivery.exit_grace)
