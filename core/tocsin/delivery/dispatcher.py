"""The dispatcher: one event loop in a background thread that does all of a notifier's network I/O.

Sync and async callers hand it work through the outbox (``put``, then :meth:`Dispatcher.wake`, which is
thread-safe), so its caps hold whatever loops or threads submit: each target has a *lane* of at most
``max_in_flight`` attempts, and the notifier at most ``max_concurrent_deliveries`` in all. A slow or
hanging target fills its own lane only. Each attempt runs through :func:`~tocsin.delivery.attempt.attempt`
and ends in ``Outbox.finish``; final outcomes (and parked ones) go to :meth:`Dispatcher.outcome`.

Noise control hangs off the lanes: each lane's rate limit (its target's :class:`NoisePolicy`) is passed
to :meth:`Outbox.take`, which holds what is beyond it; a due held *bundle* is one unit of the lane: it
becomes one digest (``NoiseControl.digest``, formatted for the target) or, alone, is sent as itself. Times come
from an injectable ``clock`` (``time.time`` by default) so tests can move time on.

:meth:`stop` never hangs: in-flight attempts get the grace time, then are cancelled and their rows
released (a durable store keeps them pending for the next process).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..errors import TocsinError
from ..messages import Outcome, Receipt
from ..secrets import redact_for
from ..transport import Transport
from .attempt import attempt
from .noise import held_reason
from .policy import RetryPolicy, decide, format_duration
from .stores import DEAD, DELIVERED, HELD, PENDING, Delivery, Outbox, lane_of

if TYPE_CHECKING:
    from ..config import Config, Target
    from .noise import NoiseControl

__all__ = ["Dispatcher", "new_owner"]

log = logging.getLogger("tocsin.delivery")
T = TypeVar("T")
Outcomes = Callable[[Delivery, Receipt, bool], None]


def new_owner() -> str:
    """A lease owner name: ``host:pid:token`` (the pid lets a process of this host see a dead owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Claims due deliveries from ``store`` lane by lane and attempts them, in its own thread."""

    def __init__(
        self,
        store: Outbox,
        config: Config,
        *,
        targets: Callable[[], Mapping[str, Target]],
        hooks_for: Callable[[str], Any],
        outcome: Outcomes,
        noise: NoiseControl | None = None,
    ) -> None:
        self.store = store
        self.settings = config.settings
        self.delivery = config.delivery
        self.owner = new_owner()
        self._targets = targets
        self._hooks_for = hooks_for
        self._outcome = outcome
        self._noise = noise
        self._clock = noise.clock if noise is not None else time.time
        self._in_flight: Counter[str] = Counter()
        self._total = 0
        self._claiming = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._unlimited = False
        self._grace = 0.0
        self._loop = asyncio.new_event_loop()
        self._wake: asyncio.Event | None = None
        self._wake_pending = False
        self._io = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tocsin-outbox")
        self._thread = threading.Thread(target=self._loop.run_forever, name="tocsin-dispatcher", daemon=True)
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    # -- from any thread -------------------------------------------------------------------------
    def wake(self) -> None:
        """Look for due deliveries now (called after a ``put``).

        Wakes coalesce: while one is on its way to the loop, another adds nothing (the loop has not
        claimed yet, so it will see this put too), which spares a self-pipe write per submission.
        """
        if self._wake_pending or self._loop.is_closed():
            return
        self._wake_pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self._loop.call_soon_threadsafe(self._set_wake)

    def _set_wake(self) -> None:
        self._wake_pending = False  # before the claim this wake leads to: a later put wakes again
        if self._wake is not None:
            self._wake.set()

    @property
    def in_dispatcher_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def until_idle(
        self, timeout: float | None = None, *, horizon: float | None = None, states: tuple[str, ...] = (PENDING, HELD)
    ) -> bool:
        """Block until nothing is in flight and no row in ``states`` is due within ``horizon`` seconds of the
        clock (default ``retry_backoff_max``) (True), or ``timeout`` passes (False)."""
        self.wake()
        horizon = self.settings.retry_backoff_max if horizon is None else horizon
        future = asyncio.run_coroutine_threadsafe(self._until_idle(self._clock() + horizon, states), self._loop)
        try:
            future.result(timeout)
            return True
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.cancel()
            return False

    def stop(self, grace: float) -> None:
        """Stop claiming; give in-flight attempts ``grace`` seconds, then cancel and release them."""
        if self._stopping:
            return
        self._grace = max(grace, 0.0)
        try:
            self._loop.call_soon_threadsafe(self._begin_stop)
        except RuntimeError:
            return
        if self.in_dispatcher_thread:
            return  # a hook closing its own notifier: the loop finishes by itself
        try:
            self._main.result(self._grace + 5)
        except Exception:
            log.warning("the dispatcher did not stop within %.1fs; abandoning it", self._grace + 5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2)
        if not self._thread.is_alive():
            self._loop.close()
        self._io.shutdown(wait=False)

    def _begin_stop(self) -> None:
        self._stopping = True
        self._set_wake()

    # -- on the dispatcher's loop ----------------------------------------------------------------
    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.store.blocking:
            return fn(*args, **kwargs)
        return await self._loop.run_in_executor(self._io, functools.partial(fn, *args, **kwargs))

    def _lane(self, target: Target) -> int:
        return target.max_in_flight or self.delivery.max_in_flight

    def lift_rate_limits(self) -> None:
        """Send what is due without waiting for rate-limit windows (``drain``, and closing a memory store,
        where held deliveries would otherwise be lost): each held bundle still goes as one digest."""
        self._unlimited = True
        self.wake()

    def _limits(self, lanes: Iterable[str]) -> dict[str, tuple[int, float]]:
        """Each lane's rate limit as (count, period), from its target's noise policy."""
        if self._noise is None or self._unlimited:
            return {}
        targets, limits = self._targets(), {}
        for lane in lanes:
            target = targets.get(lane)
            rate = self._noise.policy(target).rate_limit if target is not None else None
            if rate is not None:
                limits[lane] = (rate.count, rate.period)
        return limits

    def _quotas(self) -> dict[str, int]:
        quotas = {}
        for name, target in self._targets().items():
            if lane_of(name) != name:
                continue  # a per-person delivery shares its target's lane
            free = self._lane(target) - self._in_flight[name]
            if free > 0:
                quotas[name] = free
        return quotas

    def _resolve(self, name: str) -> Target | None:
        """The target a delivery goes to, by name: from the config (or this submission's extras)."""
        targets = self._targets()
        target = targets.get(name)
        if target is None and lane_of(name) in targets:  # a per-person delivery resumed after a restart
            target = attrs.evolve(targets[lane_of(name)], name=name)
        return target

    @property
    def _lease(self) -> float:
        longest = max([self.settings.timeout, *(t.timeout or 0 for t in self._targets().values())])
        return max(self.delivery.lease, 2 * longest + 5)

    async def _run(self) -> None:
        self._wake = asyncio.Event()
        self._transport = Transport(
            timeout=self.settings.timeout,
            max_connections=max(self.settings.max_concurrent_deliveries, 10),
            backend=self.settings.http_backend,
        )
        try:
            while not self._stopping:
                try:
                    claimed = await self._fill()
                    await self._sleep(claimed)
                except Exception:  # an outbox error (disk full, locked): log, wait, try again
                    log.exception("outbox %s: dispatching failed; retrying", self.store.label)
                    await self._pause(max(self.delivery.poll_interval, 0.2))
        finally:
            await self._shutdown()

    async def _fill(self) -> int:
        limit = self.settings.max_concurrent_deliveries - self._total
        quotas = self._quotas()
        if limit <= 0 or not quotas:
            return 0
        self._claiming = True  # until the claimed rows count as in flight: not idle
        try:
            taken = await self._call(
                self.store.take, self.owner, quotas, limit, self._clock(), self._lease, self._limits(quotas)
            )
        finally:
            self._claiming = False
        for row in taken.held:  # the rate limit held them: their waiters hear it now
            target = self._resolve(row.target)
            reason = held_reason(row, self._noise.policy(target)) if target and self._noise else "held"
            self._outcome(row, Receipt(row.target, row.channel, Outcome.HELD, reason=reason), False)
        for unit in [*taken.rows, *taken.bundles]:
            first = unit if isinstance(unit, Delivery) else unit[0]
            self._in_flight[lane_of(first.target)] += 1
            self._total += 1
            task = asyncio.create_task(self._deliver(unit))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(taken)

    async def _sleep(self, claimed: int) -> None:
        quotas = self._quotas()
        if claimed and self._total < self.settings.max_concurrent_deliveries and quotas:
            return  # maybe more are due: claim again at once
        timeout = self.delivery.poll_interval if self.store.durable else None
        if quotas and self._total < self.settings.max_concurrent_deliveries:
            due = await self._call(self.store.next_due, list(quotas))
            if due is not None:
                wait = max(due - self._clock(), 0.02 if not claimed else 0.0)
                timeout = wait if timeout is None else min(timeout, wait)
        await self._pause(timeout)

    async def _pause(self, timeout: float | None) -> None:
        assert self._wake is not None
        if self._stopping:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _deliver(self, unit: Delivery | list[Delivery]) -> None:
        row = unit if isinstance(unit, Delivery) else unit[0]
        try:
            target = self._resolve(row.target)
            if target is None:  # claimed only for known lanes: cannot happen, but never lose the row
                await self._call(self.store.release, self.owner, None if isinstance(unit, list) else row)
                return
            if isinstance(unit, list):
                released = await self._release(unit, target)
                if released is None:
                    return
                row = released
            await self._attempt(row, target)
        except asyncio.CancelledError:
            pass  # stopping: the row stays pending (released below)
        except Exception:
            log.exception("target %s: delivery of %s failed unexpectedly", row.target, row.key)
        finally:
            self._in_flight[lane_of(row.target)] -= 1
            self._total -= 1
            self._set_wake()

    async def _release(self, bundle: list[Delivery], target: Target) -> Delivery | None:
        """A due held bundle: its digest row (the rows merged into it), or its one row, to attempt now."""
        assert self._noise is not None
        now = self._clock()
        digest = None
        if len(bundle) > 1:
            try:
                digest = self._noise.digest(target, bundle, now)
            except Exception as exc:  # a broken digest template: the rows fail loudly, never silently
                reason = str(exc) if isinstance(exc, TocsinError) else f"{type(exc).__name__}: {exc}"
                error = redact_for(target, f"cannot make the digest of {len(bundle)} held deliveries: {reason}") or ""
                log.error("target %s: %s", target.name, error)
                await self._call(self.store.fail_hold, bundle, self.owner, error, now)
                for row in bundle:
                    self._outcome(row, Receipt(row.target, row.channel, Outcome.FAILED, error=error), True)
                return None
        row = await self._call(self.store.release_hold, bundle, self.owner, digest, now)
        if row is not None and digest is not None:
            self._noise.merged(bundle, row)
            log.info("target %s: %d held deliveries merged into digest %s", target.name, len(bundle), row.event_id)
        return row

    async def _attempt(self, row: Delivery, target: Target) -> None:
        policy = RetryPolicy.for_target(target, self.settings, self.delivery)
        result = await attempt(self._hooks_for(target.channel), row.message, target, self._transport, policy.timeout)
        attempts, now = row.attempts + 1, self._clock()
        common = {"attempts": attempts, "status_code": result.status_code, "latency_ms": (now - row.created_at) * 1000}
        common["warnings"] = result.warnings
        if result.ok:
            await self._call(self.store.finish, row, self.owner, DELIVERED, status_code=result.status_code)
            self._outcome(row, Receipt(row.target, row.channel, Outcome.DELIVERED, **common), True)
            return
        error = redact_for(target, result.error) or "failed"
        decision = decide(policy, attempts, now - row.created_at, error, result.retryable, result.retry_after)
        if decision.wait is None:
            await self._call(
                self.store.finish, row, self.owner, DEAD, status_code=result.status_code, error=decision.error
            )
            self._outcome(row, Receipt(row.target, row.channel, Outcome.FAILED, error=decision.error, **common), True)
            return
        await self._call(
            self.store.finish,
            row,
            self.owner,
            PENDING,
            status_code=result.status_code,
            error=error,
            next_at=now + decision.wait,
        )
        if decision.wait > policy.backoff_max:
            reason = f"pending in the outbox: next attempt in {format_duration(decision.wait)}"
            self._outcome(
                row, Receipt(row.target, row.channel, Outcome.PENDING, error=error, reason=reason, **common), False
            )
        else:
            log.info("target %s: attempt %d failed (%s); retrying in %.2fs", row.target, attempts, error, decision.wait)

    async def _until_idle(self, until: float, states: tuple[str, ...]) -> None:
        while True:
            if self._total == 0 and not self._claiming:
                due = await self._call(self.store.next_due, list(self._targets()), states)
                busy = self._total or self._claiming
                if not busy and (due is None or due > until):
                    return
                if due is not None and due <= self._clock():
                    self._set_wake()
            await asyncio.sleep(0.02)

    async def _shutdown(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
        try:
            await asyncio.wait_for(self._call(self.store.release, self.owner), 5)
        except Exception:
            log.warning("outbox %s: could not release leases; they expire by themselves", self.store.label)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._transport.aclose(), 2)
