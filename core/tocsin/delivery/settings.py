"""The ``[delivery]`` table of the config: the outbox store, the bounded queue, lanes, the retry schedule.

Structured by ``config.py`` like every other table (strict types, every problem named by key path).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..structure import Invalid
from .policy import parse_duration

__all__ = ["DeliverySettings"]


def _to_schedule(value: Sequence[float | str]) -> tuple[float | str, ...]:
    """Each wait in seconds; a value that is no duration stays as written, for the table's own check to
    report beside its other problems (a converter that raised would hide them)."""

    def one(v: float | str) -> float | str:
        try:
            return parse_duration(v)
        except ValueError:
            return v

    return tuple(one(v) for v in value)


@attrs.frozen
class DeliverySettings:
    """The ``[delivery]`` table: where deliveries wait (the outbox), how many, and for how long.

    See README "Guarantees" for what each store promises.
    """

    store: str = attrs.field(
        default="memory",
        metadata={"doc": '"memory" (best-effort: lost with the process) or "sqlite:///path" (durable).'},
    )
    max_pending: int = attrs.field(
        default=10_000, metadata={"doc": "Deliveries this process holds unfinished at most; submit waits, then fails."}
    )
    queue_full_wait: float = attrs.field(
        default=10.0, metadata={"doc": "Seconds submit waits for room in a full queue before QueueFullError."}
    )
    max_in_flight: int = attrs.field(
        default=4, metadata={"doc": "Attempts in flight per target (a target's own max_in_flight wins)."}
    )
    retry_schedule: tuple[float | str, ...] = attrs.field(
        default=("5s", "5m", "30m", "2h", "5h", "10h", "10h"),
        converter=_to_schedule,
        metadata={"doc": "Durable stores: waits after each failed attempt (numbers are seconds), then dead."},
    )
    lease: float = attrs.field(
        default=60.0, metadata={"doc": "Seconds a process holds a delivery it claimed before another may take it."}
    )
    poll_interval: float = attrs.field(
        default=1.0, metadata={"doc": "Durable stores: how often to look for deliveries other processes added."}
    )
    close_timeout: float = attrs.field(
        default=10.0, metadata={"doc": "Seconds close() lets pending deliveries finish by default."}
    )
    exit_grace: float = attrs.field(
        default=2.0, metadata={"doc": "Seconds a notifier still open at interpreter exit drains before it closes."}
    )

    def __attrs_post_init__(self) -> None:
        """Every problem of the table at once (:class:`~tocsin.structure.Invalid`), never just the first."""
        problems = []
        if not (self.store == "memory" or self.store.startswith("sqlite:///")):
            problems.append(f'store: must be "memory" or "sqlite:///path", not {self.store!r}')
        for name in ("max_pending", "max_in_flight"):
            if getattr(self, name) < 1:
                problems.append(f"{name}: must be at least 1")
        for name in ("queue_full_wait", "lease", "poll_interval", "close_timeout", "exit_grace"):
            if getattr(self, name) < 0:
                problems.append(f"{name}: must not be negative")
        for wait in self.retry_schedule:
            if not isinstance(wait, float):
                try:
                    parse_duration(wait)
                except ValueError as exc:
                    problems.append(f"retry_schedule: {exc}")
        if problems:
            raise Invalid(problems)

    @property
    def durable(self) -> bool:
        """Whether deliveries outlive the process (any store but memory)."""
        return self.store != "memory"
