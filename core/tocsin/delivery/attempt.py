"""One delivery attempt: :func:`attempt` is the only code in tocsin that sends a message.

It calls the channel's ``deliver`` hook (through ``registry.hook_for(channel)``) under the target's
timeout, with the target's secrets active for redaction, and never raises: whatever happens becomes an
:class:`AttemptResult` whose error text is already redacted. Its ``warnings`` name the attachments left out
(at formatting, or because the stored copy is gone now) and any the channel reports (``tocsin.Delivered``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING, Any

import attrs

from ..attachments import checked
from ..errors import DeliveryError, PermanentError, RetryableError
from ..secrets import find_secrets, redact, redacting

if TYPE_CHECKING:
    from ..config import Target
    from ..messages import Message
    from ..transport import Transport

__all__ = ["AttemptResult", "attempt"]


@attrs.frozen
class AttemptResult:
    """How one attempt went: ``ok``, the HTTP status where there was one, a redacted ``error``."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()


async def attempt(hooks: Any, message: Message, target: Target, transport: Transport, timeout: float) -> AttemptResult:
    """Send ``message`` to ``target`` once (``hooks`` is ``registry.hook_for(target.channel)``)."""
    secrets = list(find_secrets(target.options))
    started = time.monotonic()
    message, left_out = checked(message)  # a stored attachment gone since formatting: left out, not failed
    try:
        with redacting(secrets):
            result = await _call(hooks, message, target, transport, timeout)
    except DeliveryError as exc:
        error: DeliveryError = exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a plugin bug: permanent, reported with its type
        error = PermanentError(f"{type(exc).__name__}: {exc}")
    else:
        told = [redact(str(w), secrets) for w in getattr(result, "warnings", None) or ()]
        return AttemptResult(
            ok=True,
            status_code=getattr(result, "status_code", None),
            seconds=time.monotonic() - started,
            warnings=(*left_out, *told),
        )
    return AttemptResult(
        ok=False,
        status_code=error.status_code,
        error=redact(str(error), secrets) or type(error).__name__,
        retryable=error.retryable,
        retry_after=getattr(error, "retry_after", None),
        seconds=time.monotonic() - started,
        warnings=tuple(left_out),
    )


async def _call(hooks: Any, message: Message, target: Target, transport: Transport, timeout: float) -> Any:
    awaitable = hooks.deliver(message=message, target=target, transport=transport)
    if awaitable is None:
        raise PermanentError(f"no installed plugin delivers channel {target.channel!r}")
    if not inspect.isawaitable(awaitable):
        return awaitable  # a plugin that finished synchronously
    try:
        if _timeout is None:  # Python 3.10
            return await asyncio.wait_for(awaitable, timeout)
        async with _timeout(timeout):  # no Task per attempt, as wait_for makes on 3.11
            return await awaitable
    except asyncio.TimeoutError:
        raise RetryableError(f"timed out after {timeout:g}s") from None


_timeout = getattr(asyncio, "timeout", None)
