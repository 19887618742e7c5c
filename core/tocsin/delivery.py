"""The delivery engine: one target's attempts, under a timeout, a retry policy and a shared cap.

Each target is delivered by its own task (:func:`deliver_with_retries`) that never raises: whatever
happens ends as a :class:`Receipt`. The semaphore is held only while an attempt runs, never during a
backoff wait, so a slow or failing target cannot hold back the others.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import attrs

from .errors import DeliveryError, PermanentError, RetryableError
from .messages import Message, Outcome, Receipt
from .secrets import find_secrets, redact, redacting

if TYPE_CHECKING:
    from .config import Settings, Target
    from .transport import Transport

__all__ = ["RetryPolicy", "backoff_delay", "deliver_with_retries"]

log = logging.getLogger("tocsin.delivery")


@attrs.frozen
class RetryPolicy:
    """How long one attempt may take, how often to retry, how long to wait between, and in all."""

    timeout: float = 10.0
    max_retries: int = 3
    backoff: float = 1.0
    backoff_max: float = 30.0
    deadline: float = 120.0

    @classmethod
    def for_target(cls, target: Target, settings: Settings) -> RetryPolicy:
        """The settings' policy with the target's own ``timeout``/``max_retries`` where given."""
        return cls(
            timeout=target.timeout if target.timeout is not None else settings.timeout,
            max_retries=target.max_retries if target.max_retries is not None else settings.max_retries,
            backoff=settings.retry_backoff,
            backoff_max=settings.retry_backoff_max,
            deadline=settings.retry_deadline,
        )


def backoff_delay(retry: int, policy: RetryPolicy) -> float:
    """Exponential backoff with equal jitter: half the step fixed, half random (retry counts from 1)."""
    step = min(policy.backoff_max, policy.backoff * (2 ** (retry - 1)))
    return step / 2 + random.uniform(0, step / 2)


async def deliver_with_retries(
    hook: Any,
    message: Message,
    target: Target,
    transport: Transport,
    policy: RetryPolicy,
    semaphore: asyncio.Semaphore,
) -> Receipt:
    """Deliver ``message`` to ``target`` until it succeeds, fails for good, or runs out of retries."""
    secrets = list(find_secrets(target.options))
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        remaining = policy.deadline - (time.monotonic() - started)
        try:
            async with semaphore:
                with redacting(secrets):
                    timeout = min(policy.timeout, max(remaining, 0.001))
                    result = await _attempt(hook, message, target, transport, timeout)
        except DeliveryError as exc:
            error: DeliveryError = exc
        except Exception as exc:  # a plugin bug: permanent, reported with its type
            error = PermanentError(f"{type(exc).__name__}: {exc}")
        else:
            return Receipt(
                target=target.name,
                channel=target.channel,
                outcome=Outcome.DELIVERED,
                attempts=attempts,
                status_code=getattr(result, "status_code", None),
                latency_ms=(time.monotonic() - started) * 1000,
            )
        text = redact(str(error), secrets)
        elapsed = time.monotonic() - started
        wait = None
        give_up = None
        if not error.retryable:
            give_up = text
        elif attempts > policy.max_retries:
            give_up = f"{text} (gave up after {attempts} attempts)"
        else:
            retry_after = getattr(error, "retry_after", None)
            wait = retry_after if retry_after is not None else backoff_delay(attempts, policy)
            if elapsed + wait >= policy.deadline:
                give_up = (
                    f"{text} (gave up: waiting {wait:.1f}s more would pass the {policy.deadline:g}s retry deadline)"
                )
        if give_up is not None:
            log.warning("target %s: delivery failed: %s", target.name, give_up)
            return Receipt(
                target=target.name,
                channel=target.channel,
                outcome=Outcome.FAILED,
                attempts=attempts,
                status_code=error.status_code,
                latency_ms=elapsed * 1000,
                error=give_up,
            )
        log.info("target %s: attempt %d failed (%s); retrying in %.2fs", target.name, attempts, text, wait)
        await asyncio.sleep(wait or 0)


async def _attempt(hook: Any, message: Message, target: Target, transport: Transport, timeout: float) -> Any:
    awaitable = hook.deliver(message=message, target=target, transport=transport)
    if awaitable is None:
        raise PermanentError(f"no installed plugin delivers channel {target.channel!r}")
    if not inspect.isawaitable(awaitable):
        return awaitable  # a plugin that finished synchronously
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise RetryableError(f"timed out after {timeout:g}s") from None
