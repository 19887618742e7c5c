"""Retry policy: after a failed attempt, retry when, or give up.

Two regimes, one function (:func:`decide`):

* **memory** store: exponential backoff with equal jitter (``retry_backoff`` doubling up to
  ``retry_backoff_max``), at most ``max_retries`` retries, all within ``retry_deadline`` seconds.
* **durable** store: the ``[delivery] retry_schedule`` (by default Svix's: 5 s, 5 min, 30 min, 2 h, 5 h,
  10 h, 10 h — about 28 hours in all), then the delivery is dead.

In both, no wait taken inside a process is longer than ``retry_backoff_max``, a server's ``Retry-After``
included: a longer wait *parks* the delivery in a durable store until its next attempt time (the waiting
caller gets a "pending" receipt), and gives up in memory, where nothing outlives the process.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import attrs

from ..durations import format_duration, parse_duration

if TYPE_CHECKING:
    from ..config import DeliverySettings, Settings, Target

__all__ = ["Decision", "RetryPolicy", "backoff_delay", "decide", "format_duration", "parse_duration"]

@attrs.frozen
class RetryPolicy:
    """How long one attempt may take, and how retries are spaced, for one target."""

    timeout: float = 10.0
    max_retries: int = 3
    backoff: float = 1.0
    backoff_max: float = 30.0
    deadline: float = 120.0
    #: Durable stores only: the wait after each failed attempt; None for the memory store.
    schedule: tuple[float, ...] | None = None

    @classmethod
    def for_target(cls, target: Target, settings: Settings, delivery: DeliverySettings | None = None) -> RetryPolicy:
        """The settings' policy with the target's own ``timeout``/``max_retries`` where given."""
        return cls(
            timeout=target.timeout if target.timeout is not None else settings.timeout,
            max_retries=target.max_retries if target.max_retries is not None else settings.max_retries,
            backoff=settings.retry_backoff,
            backoff_max=settings.retry_backoff_max,
            deadline=settings.retry_deadline,
            schedule=delivery.retry_schedule if delivery is not None and delivery.durable else None,
        )


def backoff_delay(retry: int, policy: RetryPolicy) -> float:
    """Exponential backoff with equal jitter: half the step fixed, half random (retry counts from 1)."""
    step = min(policy.backoff_max, policy.backoff * (2 ** (retry - 1)))
    return step / 2 + random.uniform(0, step / 2)


@attrs.frozen
class Decision:
    """What to do after an attempt failed: retry after ``wait`` seconds, or give up (``wait`` None)."""

    wait: float | None
    error: str

    @property
    def dead(self) -> bool:
        return self.wait is None


def decide(
    policy: RetryPolicy,
    attempts: int,
    elapsed: float,
    error: str,
    retryable: bool,
    retry_after: float | None,
) -> Decision:
    """After ``attempts`` attempts (the last one failed with ``error``), ``elapsed`` seconds after submission.

    The returned wait may exceed ``policy.backoff_max`` only with a durable store (the delivery is parked).
    """
    if not retryable:
        return Decision(None, error)
    if policy.schedule is not None:
        if attempts > len(policy.schedule):
            return Decision(None, f"{error} (gave up after {attempts} attempts: the retry schedule is spent)")
        step = policy.schedule[attempts - 1]
        wait = step * random.uniform(0.9, 1.1) if step > policy.backoff_max else step
        return Decision(max(wait, retry_after or 0.0), error)
    if attempts > policy.max_retries:
        return Decision(None, f"{error} (gave up after {attempts} attempts)")
    wait = retry_after if retry_after is not None else backoff_delay(attempts, policy)
    if elapsed + wait >= policy.deadline:
        return Decision(
            None, f"{error} (gave up: waiting {wait:.1f}s more would pass the {policy.deadline:g}s retry deadline)"
        )
    if wait > policy.backoff_max:
        return Decision(
            None,
            f"{error} (gave up: the server asked to wait {format_duration(wait)}, more than "
            f"retry_backoff_max {policy.backoff_max:g}s; a durable [delivery] store would wait)",
        )
    return Decision(wait, error)
