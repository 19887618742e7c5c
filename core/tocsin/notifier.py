"""The :class:`Notifier`: the one object a host application holds."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .config import Config, Target, default_config, find_config, load_config, structure_target
from .delivery import RetryPolicy, deliver_with_retries
from .errors import ConfigError, PluginError, TemplateError, TocsinError
from .events import Event
from .messages import Message, Outcome, Receipt, Report
from .plugins import PluginRegistry
from .routing import Routes, Subscription, delivery_order, route
from .samples import sample_event
from .secrets import find_secrets, redact
from .structure import Problems, structure_attrs
from .templating import Templates
from .transport import Transport

__all__ = ["Notifier"]

log = logging.getLogger("tocsin")
T = TypeVar("T")


class _BackgroundLoop:
    """An event loop in a daemon thread, so the sync API works from any thread (even inside a loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tocsin-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


class Notifier:
    """Routes events to targets, formats them, and delivers them with retries.

    Build it from a config file (:meth:`from_file`) or from the attrs classes (``Notifier(Config(...))``);
    with neither, every event goes to the console. Use :meth:`notify` from sync code and
    :meth:`anotify` from async code; close it (or use it as a context manager) to release connections.

    >>> with Notifier.from_file("tocsin.toml") as notifier:          # doctest: +SKIP
    ...     report = notifier.notify(Event("job_failed", data={"run_name": "nightly", "error": "disk full"}))
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        registry: PluginRegistry | None = None,
        plugins: Iterable[Any] = (),
    ) -> None:
        self.registry = registry or PluginRegistry()
        for plugin in plugins:
            self.registry.register(plugin)
        config = config if config is not None else default_config()
        for spec in config.settings.plugins:
            self.registry.load_local(spec)
        self.config = attrs.evolve(config, targets=self._structure_targets(config.targets, config.label))
        self.templates = Templates(self.registry, self.config.settings.template_dirs)
        self._transports: dict[asyncio.AbstractEventLoop, tuple[Transport, asyncio.Semaphore]] = {}
        self._background: _BackgroundLoop | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        registry: PluginRegistry | None = None,
        plugins: Iterable[Any] = (),
    ) -> Notifier:
        """A notifier from ``path``, else ``$TOCSIN_CONFIG``, else ``./tocsin.toml``, else the default."""
        registry = registry or PluginRegistry()
        for plugin in plugins:
            registry.register(plugin)
        return cls(load_config(find_config(path), registry), registry=registry)

    # -- targets ---------------------------------------------------------------------------------
    def _structure_targets(self, targets: Sequence[Target | Mapping[str, Any]], label: str) -> tuple[Target, ...]:
        problems = Problems()
        result: list[Target] = []
        names: set[str] = set()
        for index, target in enumerate(targets):
            built = self._structure_target(target, index, problems)
            if built is None:
                continue
            if built.name in names:
                problems.add(f"targets[{index}].name", f"duplicate target name {built.name!r}")
            names.add(built.name)
            result.append(built)
        if problems:
            raise ConfigError([f"{label}: {p}" for p in problems])
        return tuple(result)

    def _structure_target(self, target: Target | Mapping[str, Any], index: int, problems: Problems) -> Target | None:
        at = f"targets[{index}]"
        if isinstance(target, Mapping):
            return structure_target(target, index, self.registry, Path.cwd(), problems)
        try:
            channel = self.registry.channel(target.channel)
        except PluginError as exc:
            problems.add(f"{at} {target.name!r}", str(exc))
            return None
        if isinstance(target.options, channel.spec.options):
            return target
        if isinstance(target.options, Mapping):
            options = structure_attrs(target.options, channel.spec.options, at, problems)
            return None if options is None else attrs.evolve(target, options=options)
        problems.add(f"{at}.options", f"expected a mapping or {channel.spec.options.__name__}")
        return None

    @property
    def targets(self) -> tuple[Target, ...]:
        """The configured targets, in config order."""
        return self.config.targets

    def target(self, name: str) -> Target:
        """The configured target called ``name`` (ConfigError with a suggestion otherwise)."""
        return self.config.target(name)

    def route(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
    ) -> Routes:
        """Where ``event`` goes and why the other targets are skipped (:func:`tocsin.routing.route`).

        ``targets`` names targets to send to regardless of their routing rules (``--target``), never a
        disabled one; ``subscriptions`` picks targets for this event, each with its own ``when``;
        ``extra_targets`` are destinations the submitter adds, with their own rules.
        """
        extra = self._structure_targets(extra_targets, "extra_targets") if extra_targets else ()
        return route(
            event,
            self.config,
            targets=targets,
            extra_targets=extra,
            subscriptions=subscriptions,
            personal=lambda target: self.registry.channel(target.channel).spec.personal,
        )

    # -- formatting ------------------------------------------------------------------------------
    def prepare(self, event: Event) -> Event:
        """The event after ``prepare_event`` hooks, with the config's ``[source]`` filling blanks."""
        if self.config.source is not None:
            merged = {
                field.name: getattr(event.source, field.name) or getattr(self.config.source, field.name)
                for field in attrs.fields(type(event.source))
            }
            event = attrs.evolve(event, source=type(event.source)(**merged))
        for impl in reversed(self.registry.pm.hook.prepare_event.get_hookimpls()):  # pluggy's call order
            args = {"event": event, "config": self.config}  # an impl may take a subset, as with any hook
            result = impl.function(**{name: args[name] for name in impl.argnames})
            if result is not None:
                event = result
        return event

    def format(self, event: Event, target: Target) -> Message:
        """The message ``target``'s channel makes of ``event`` (nothing is sent)."""
        hooks = self.registry.hook_for(target.channel)
        message = hooks.format_message(event=event, target=target, templates=self.templates)
        if message is None:
            raise TemplateError(f"no installed plugin formats channel {target.channel!r} (target {target.name!r})")
        return message

    def render(self, target: str | Target, event: Event | str) -> Message:
        """The message ``target`` would receive for ``event`` (a type name gives a sample event)."""
        if isinstance(event, str):
            event = sample_event(event)
        resolved = self.target(target) if isinstance(target, str) else target
        return self.format(self.prepare(event), resolved)

    # -- delivery --------------------------------------------------------------------------------
    def _transport(self) -> tuple[Transport, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        for stale in [known for known in self._transports if known.is_closed()]:
            del self._transports[stale]  # a loop that ended (asyncio.run returned) took its connections along
        pair = self._transports.get(loop)
        if pair is None:
            settings = self.config.settings
            transport = Transport(
                timeout=settings.timeout,
                max_connections=max(settings.max_concurrent_deliveries, 10),
                backend=settings.http_backend,
            )
            pair = self._transports[loop] = (transport, asyncio.Semaphore(settings.max_concurrent_deliveries))
        return pair

    async def anotify(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
    ) -> Report:
        """Route, format and deliver ``event``; the report has one receipt per target.

        Never raises for a delivery or formatting failure (those are failed receipts); raises
        ConfigError only for a bad ``targets`` name or ``extra_targets`` entry.
        """
        event = self.prepare(event)
        chosen, receipts = self.route(event, targets=targets, extra_targets=extra_targets, subscriptions=subscriptions)
        transport, semaphore = self._transport()
        jobs = []
        for target in chosen:
            try:
                message = self.format(event, target)
            except Exception as exc:
                error = redact(_describe(exc), find_secrets(target.options))
                log.error("target %s: cannot format %s: %s", target.name, event.type, error)
                receipts.append(Receipt(target.name, target.channel, Outcome.FAILED, error=error))
                self._finished(event, None, receipts[-1])
                continue
            policy = RetryPolicy.for_target(target, self.config.settings)
            jobs.append(
                (
                    message,
                    deliver_with_retries(
                        self.registry.hook_for(target.channel), message, target, transport, policy, semaphore
                    ),
                )
            )
        for (message, _), receipt in zip(jobs, await asyncio.gather(*(job for _, job in jobs)), strict=True):
            receipts.append(receipt)
            self._finished(event, message, receipt)
        key = delivery_order([*self.config.targets, *chosen])
        receipts.sort(key=lambda r: key(r.target))
        return Report(event_id=event.id, event_type=event.type, receipts=tuple(receipts))

    def _finished(self, event: Event, message: Message | None, receipt: Receipt) -> None:
        try:
            self.registry.hook.delivery_finished(event=event, message=message, receipt=receipt)
        except Exception:
            log.exception("a delivery_finished hook failed (ignored)")

    def notify(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
    ) -> Report:
        """:meth:`anotify` for sync code: blocks until every target has an outcome."""
        return self._run(self.anotify(event, targets=targets, extra_targets=extra_targets, subscriptions=subscriptions))

    async def atest(self, target: str | None = None, *, event: Event | str | None = None) -> Report:
        """Send a sample event (dummy data): to ``target`` alone, whatever its routing rules, or, without
        a target, to every target ``event`` would reach (the per-event Test button).

        ``event`` is a type name (a sample of it: ``job_completed`` by default) or an Event.
        """
        if target is None and event is None:
            raise ConfigError("test: name a target, an event type, or both")
        if target is not None:
            self.target(target)
        if event is None or isinstance(event, str):
            title = "tocsin test notification: this target works" if event is None else None
            event = sample_event(event or "job_completed", title=title)
        return await self.anotify(event, targets=[target] if target is not None else None)

    def test(self, target: str | None = None, *, event: Event | str | None = None) -> Report:
        """:meth:`atest` for sync code."""
        return self._run(self.atest(target, event=event))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._background is None:
                self._background = _BackgroundLoop()
        return self._background.run(coro)

    # -- lifecycle -------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the connections this loop opened."""
        loop = asyncio.get_running_loop()
        pair = self._transports.pop(loop, None)
        if pair is not None:
            await pair[0].aclose()

    def close(self) -> None:
        """Close every connection and stop the background loop of the sync API."""
        if self._background is not None:
            background, self._background = self._background, None
            background.run(self.aclose())
            background.stop()
        self._transports.clear()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        self.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TocsinError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
