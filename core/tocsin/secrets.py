"""Secret values (webhook URLs, tokens, passwords, signing keys) that never print themselves.

Channel options declare secret fields with the :class:`Secret` type; config loading wraps the strings.
``str()``, ``repr()`` and f-strings show ``'***'``; only :meth:`Secret.reveal` gives the value, and
only code that sends it over the wire should call it. :func:`redact` scrubs known secret values out of
free text (an exception message from a library, say) before it reaches a report or a log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import attrs

__all__ = ["REDACTED", "Secret", "active_secrets", "find_secrets", "redact", "redacting", "reveal"]

REDACTED = "***"


@attrs.frozen(repr=False, eq=True, hash=True)
class Secret:
    """A string that must never be shown: ``repr``/``str``/``format`` all give ``'***'``."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The real value, for the single place that puts it on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{REDACTED}')"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:  # pickling keeps the value; it is data, not display
        return (Secret, (self._value,))


def reveal(value: Secret | str | None) -> str | None:
    """The plain value of a Secret, or the string itself; None stays None."""
    return value.reveal() if isinstance(value, Secret) else value


def find_secrets(obj: Any) -> Iterator[str]:
    """Every secret value reachable from ``obj`` (attrs instances, mappings, sequences)."""
    if isinstance(obj, Secret):
        if obj.reveal():
            yield obj.reveal()
    elif attrs.has(type(obj)):
        for field in attrs.fields(type(obj)):
            yield from find_secrets(getattr(obj, field.name))
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from find_secrets(value)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for value in obj:
            yield from find_secrets(value)


def _variants(secret: str) -> Iterable[str]:
    yield secret
    quoted = quote(secret, safe="")
    if quoted != secret:
        yield quoted
    # A URL's path and query are secret too when the whole URL is (a webhook token lives there).
    if "://" in secret:
        rest = secret.split("://", 1)[1]
        if "/" in rest:
            path = rest.split("/", 1)[1]
            if len(path) >= 8:
                yield path


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (and its URL-quoted form) replaced by ``***``."""
    variants = sorted({v for s in secrets if s and len(s) >= 4 for v in _variants(s)}, key=len, reverse=True)
    for value in variants:
        text = text.replace(value, REDACTED)
    return text


_active: ContextVar[tuple[str, ...]] = ContextVar("tocsin_active_secrets", default=())


@contextlib.contextmanager
def redacting(secrets: Iterable[str]) -> Iterator[None]:
    """While delivering to a target: its secrets, for code that shortens text before the engine redacts it.

    The delivery engine sets this around each attempt; :func:`active_secrets` reads it (the transport
    redacts a server's answer before cutting it to length, so a cut can never split a secret in two).
    """
    token = _active.set(tuple(secrets))
    try:
        yield
    finally:
        _active.reset(token)


def active_secrets() -> tuple[str, ...]:
    """The secrets of the target being delivered to in this task (empty outside a delivery)."""
    return _active.get()
