"""What a channel sends (:class:`Message`) and what came of it (:class:`Receipt`, :class:`Report`).

A Message is formatted once, when the event is accepted, and is plain data: it can be inspected
(``tocsin render``), serialized with :meth:`Message.to_dict` and stored, then delivered later. It holds
no secret: destinations and credentials (webhook URLs, tokens, passwords) stay in the target's options
and are read at delivery time, so a stored or printed message leaks nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import cattrs

from .attachments import AttachmentRef

if TYPE_CHECKING:
    from .config import Target
    from .events import Event

__all__ = ["Delivered", "Message", "Outcome", "Receipt", "Report"]

_converter = cattrs.Converter()


@attrs.frozen
class Message:
    """One formatted notification for one target.

    HTTP channels fill ``body`` (the JSON document to send) and may add non-secret ``headers``;
    email fills ``subject``, ``text``, ``html`` and ``recipients``; a text channel may fill only ``text``.
    ``extra`` holds any other JSON-able, non-secret detail a channel's ``deliver`` needs.
    ``attachments`` are references to stored files (:class:`tocsin.AttachmentRef`: name, content type,
    size, sha256, stored path, and why one is left out), never their bytes; the notifier fills them in
    from the event, within the channel's caps, when the channel's ``format_message`` leaves them empty.
    """

    channel: str
    target: str
    event_id: str
    event_type: str
    severity: str
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    recipients: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    extra: dict[str, Any] = attrs.field(factory=dict)
    attachments: tuple[AttachmentRef, ...] = attrs.field(default=(), converter=tuple)

    @classmethod
    def for_event(cls, event: Event, target: Target, **content: Any) -> Message:
        """A message for ``event`` to ``target``; ``content`` fills body, subject, text, html, …"""
        return cls(
            channel=target.channel,
            target=target.name,
            event_id=event.id,
            event_type=event.type,
            severity=str(event.severity),
            **content,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (cattrs unstructure); :meth:`from_dict` reads it back."""
        return _converter.unstructure(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """The message that :meth:`to_dict` wrote."""
        return _converter.structure(dict(data), cls)


@attrs.frozen
class Delivered:
    """What a ``deliver`` hook may resolve to when it has more to say than an HTTP answer: the status to
    record and ``warnings`` for the receipt (an attachment upload that failed after the message went)."""

    status_code: int | None = None
    warnings: tuple[str, ...] = attrs.field(default=(), converter=tuple)


class Outcome(str, enum.Enum):
    """What happened to one target for one event."""

    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: Not final: parked in a durable outbox for a later attempt (or, in a partial report, still running).
    PENDING = "pending"
    #: Accounted, not final: noise control holds it (rate limit, quiet hours, grouping) for a digest; the
    #: receipt's reason says until when. Never dropped: the outbox keeps it until the digest is sent.
    HELD = "held"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Receipt:
    """The outcome for one target: attempts made, last HTTP status, latency, a redacted error, and
    ``warnings``: what went wrong without failing the alert (an attachment left out, and why)."""

    target: str
    channel: str
    outcome: Outcome
    attempts: int = 0
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    reason: str | None = None  # why a target was skipped, held or is pending
    warnings: tuple[str, ...] = attrs.field(default=(), converter=tuple)  # e.g. an attachment left out

    @property
    def ok(self) -> bool:
        """Delivered, skipped on purpose, or held for a digest (not failed, and not still pending)."""
        return self.outcome in (Outcome.DELIVERED, Outcome.SKIPPED, Outcome.HELD)

    def summary(self) -> str:
        """One line for a terminal: ``team-chat  delivered  1 attempt  HTTP 204  41 ms``."""
        parts = [self.target, str(self.outcome)]
        if self.attempts:
            parts.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.latency_ms is not None:
            parts.append(f"{self.latency_ms:.0f} ms")
        if self.error:
            parts.append(f"— {self.error}")
        if self.reason:
            parts.append(f"({self.reason})")
        parts.extend(f"[warning: {warning}]" for warning in self.warnings)
        return "  ".join(parts)


@attrs.frozen
class Report:
    """Every target's receipt for one event."""

    event_id: str
    event_type: str
    receipts: tuple[Receipt, ...] = ()

    @property
    def ok(self) -> bool:
        """Every target delivered, skipped or held for a digest: none failed, none left pending."""
        return all(r.ok for r in self.receipts)

    @property
    def delivered(self) -> list[Receipt]:
        return [r for r in self.receipts if r.outcome is Outcome.DELIVERED]

    @property
    def failed(self) -> list[Receipt]:
        return [r for r in self.receipts if r.outcome is Outcome.FAILED]

    @property
    def skipped(self) -> list[Receipt]:
        return [r for r in self.receipts if r.outcome is Outcome.SKIPPED]

    @property
    def held(self) -> list[Receipt]:
        """Targets whose delivery noise control holds for a digest (see each receipt's reason)."""
        return [r for r in self.receipts if r.outcome is Outcome.HELD]

    @property
    def pending(self) -> list[Receipt]:
        """Targets whose delivery waits in a durable outbox for a later attempt."""
        return [r for r in self.receipts if r.outcome is Outcome.PENDING]

    def __getitem__(self, target: str) -> Receipt:
        for receipt in self.receipts:
            if receipt.target == target:
                return receipt
        raise KeyError(target)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, as ``tocsin send --json-report`` prints it."""
        return _converter.unstructure(self)
