"""Files sent with an event: :class:`Attachment` (what a host hands over) and :class:`AttachmentRef` (what a
:class:`~tocsin.Message` carries), and the per-channel caps that decide which ones a target gets.

A Message is plain data that a durable outbox may store and another process deliver later, so it never holds
a file's bytes: when the notifier accepts an event it copies each attachment (a file by path, or bytes with
a name) into a content-addressed folder (:mod:`tocsin.attachment_store`) and the event, then every Message,
carries only a reference: name, content type, size, sha256 and the stored copy's path. ``deliver`` reads the
bytes from there (:meth:`AttachmentRef.read_bytes`), so what is sent is what was submitted, even if the
original file changed or was deleted since.

Each channel declares what it carries (:class:`tocsin.Channel`: ``max_attachment_bytes``,
``max_attachments``, ``max_attachments_total_bytes``; 0 bytes means it lists names only). A file over a cap,
or one that could not be read, is *left out*: it stays in the Message with ``omitted`` saying why, shows in
the message's "Attachments" field, and becomes a warning on the receipt; it never fails the alert.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .errors import PermanentError

__all__ = ["Attachment", "AttachmentRef", "attachment_warnings", "fit_attachments", "to_attachments"]

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069\"\\/]")
_NAME_LIMIT = 200


def safe_name(name: str) -> str:
    """A file name safe in a MIME header, a multipart part or a chat message: no folders, no control or
    bidi characters, no quotes or slashes, at most 200 characters, never empty."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = " ".join(_UNSAFE_NAME.sub("_", base).split()).lstrip(".")
    if len(cleaned) > _NAME_LIMIT:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext[:20] if dot else ""
        cleaned = (stem if dot else cleaned)[: _NAME_LIMIT - len(ext) - 1] + (f".{ext}" if ext else "")
    return cleaned or "attachment"


def guess_type(name: str) -> str:
    """The content type for a file name (``run.log`` → ``text/plain``), ``application/octet-stream`` if unknown."""
    if name.lower().endswith((".log", ".out", ".err")):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@attrs.frozen
class Attachment:
    """A file to send with an event: by ``path``, or ``data`` (bytes) with a ``name``.

    >>> Attachment("/var/log/nightly.log")                                 # doctest: +SKIP
    >>> Attachment(data=b"id,size\\n1,42\\n", name="report.csv", content_type="text/csv")

    ``name`` defaults to the file's name and ``content_type`` is guessed from the name. A path is read
    when the notifier accepts the event (not before): a file missing then is left out with a note in the
    message and a warning on the receipt, and the alert still goes.
    """

    path: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    data: bytes | None = attrs.field(default=None, repr=lambda data: f"<{len(data)} bytes>" if data else repr(data))
    name: str = attrs.field(default=None)
    content_type: str = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("an attachment is a path or data (bytes), exactly one of them")
        if self.data is not None:
            if not isinstance(self.data, (bytes, bytearray, memoryview)):
                raise TypeError(f"attachment data must be bytes, not {type(self.data).__name__}")
            object.__setattr__(self, "data", bytes(self.data))
            if not self.name:
                raise ValueError("an attachment given as bytes needs a name (like name='report.csv')")
        name = safe_name(self.name or (self.path.name if self.path else ""))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "content_type", _content_type(self.content_type, name))

    @classmethod
    def from_bytes(cls, data: bytes, name: str, content_type: str | None = None) -> Attachment:
        """An attachment of ``data`` called ``name``."""
        return cls(data=data, name=name, content_type=content_type)  # type: ignore[arg-type]


def _content_type(value: str | None, name: str) -> str:
    if not value:
        return guess_type(name)
    value = str(value).strip()
    if not re.fullmatch(r"[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+\"-]+)*", value):
        raise ValueError(f"attachment {name!r}: content_type {value!r} is not a media type (like text/plain)")
    return value


@attrs.frozen
class AttachmentRef:
    """An attachment as a Message carries it: plain data, never the bytes.

    ``path`` is the stored copy (in the notifier's ``attachment_dir``), named by its ``sha256``. ``omitted``
    says why this target does not get the file (missing, over the channel's cap, …); such a reference is
    listed in the message and turned into a receipt warning, never sent.
    """

    name: str
    content_type: str = "application/octet-stream"
    size: int | None = None
    sha256: str | None = None
    path: str | None = None
    omitted: str | None = None

    @property
    def sent(self) -> bool:
        """Whether this target gets the file (False when it is only listed)."""
        return self.omitted is None

    def label(self) -> str:
        """``run.log (12.3 KiB)``, or ``core.dump (30.0 MiB, left out: <why>)``."""
        from .presentation import format_size

        notes = [] if self.size is None else [format_size(self.size)]
        if self.omitted:
            notes.append(f"left out: {self.omitted}")
        return f"{self.name} ({', '.join(notes)})" if notes else self.name

    def read_bytes(self) -> bytes:
        """The stored bytes (checked against ``size``); PermanentError naming the file if they are gone."""
        if self.path is None or self.omitted:
            raise PermanentError(f"attachment {self.name!r} has no stored copy ({self.omitted or 'not staged'})")
        try:
            data = Path(self.path).read_bytes()
        except OSError as exc:
            raise PermanentError(f"attachment {self.name!r}: stored copy unreadable: {exc.strerror}") from None
        if self.size is not None and len(data) != self.size:
            raise PermanentError(f"attachment {self.name!r}: stored copy has {len(data)} bytes, expected {self.size}")
        return data

    def check(self) -> AttachmentRef:
        """This reference, or a copy marked omitted when its stored file is gone or has the wrong size."""
        if not self.sent:
            return self
        try:
            size = os.stat(self.path or "").st_size
        except OSError:
            return attrs.evolve(self, omitted="no longer in the attachment store (purged or removed)")
        if self.size is not None and size != self.size:
            return attrs.evolve(self, omitted=f"stored copy has {size} bytes, expected {self.size}")
        return self


def to_attachments(value: Any) -> tuple[Attachment | AttachmentRef, ...]:
    """``Event.attachments`` from paths, :class:`Attachment`, :class:`AttachmentRef` or their dicts."""
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike, Attachment, AttachmentRef, Mapping)):
        value = [value]
    result: list[Attachment | AttachmentRef] = []
    for item in value:
        if isinstance(item, (Attachment, AttachmentRef)):
            result.append(item)
        elif isinstance(item, (str, os.PathLike)):
            result.append(Attachment(path=Path(item)))
        elif isinstance(item, Mapping):
            fields = dict(item)
            result.append(
                AttachmentRef(**fields) if "sha256" in fields or "omitted" in fields else Attachment(**fields)
            )
        else:
            raise TypeError(f"an attachment is a path, an Attachment or a mapping, not {type(item).__name__}")
    return tuple(result)


@attrs.frozen
class Caps:
    """What one target may carry: bytes per file (0: names only), files per message, bytes per message."""

    per_file: int = 0
    count: int | None = None
    total: int | None = None


def caps_for(spec: Any, options: Any, limit: int | None = None) -> Caps:
    """The caps of a channel (``spec``: a :class:`tocsin.Channel`), replaced by the target's own
    ``max_attachment_bytes`` when its options have one (an option, or a property: the webhook's is 0 unless
    ``attachments = "inline"``), and never above the notifier's ``limit``."""
    per_file = int(getattr(spec, "max_attachment_bytes", 0) or 0)
    total = getattr(spec, "max_attachments_total_bytes", None)
    own = getattr(options, "max_attachment_bytes", None)
    if isinstance(own, int) and not isinstance(own, bool):
        per_file = own
        total = None if total is None else max(total, own)
    if limit is not None:
        per_file = min(per_file, limit)
        total = limit if total is None else min(total, limit)
    return Caps(per_file, getattr(spec, "max_attachments", None), total)


def fit_attachments(refs: Iterable[Any], caps: Caps, channel: str) -> tuple[AttachmentRef, ...]:
    """The references ``channel`` gets: each one sent, or marked ``omitted`` with the reason a person reads."""
    from .presentation import format_size

    fitted: list[AttachmentRef] = []
    sent = 0
    total = 0
    for ref in refs:
        if not isinstance(ref, AttachmentRef):
            continue  # not staged (an event rendered without a notifier): nothing to send
        if not ref.sent or caps.per_file <= 0:
            fitted.append(ref)
            continue
        size = ref.size or 0
        reason = None
        if size > caps.per_file:
            reason = f"{format_size(size)} is over the {format_size(caps.per_file)} limit of {channel}"
        elif caps.count is not None and sent >= caps.count:
            reason = f"{channel} carries at most {caps.count} file{'s' if caps.count != 1 else ''} per message"
        elif caps.total is not None and total + size > caps.total:
            reason = f"the files together would pass the {format_size(caps.total)} limit of {channel}"
        if reason:
            fitted.append(attrs.evolve(ref, omitted=reason))
        else:
            sent += 1
            total += size
            fitted.append(ref)
    return tuple(fitted)


def attachment_warnings(refs: Iterable[AttachmentRef]) -> list[str]:
    """One receipt warning per file left out (names a listing-only channel shows are no warning: as documented)."""
    return [f"attachment {ref.name!r} left out: {ref.omitted}" for ref in refs if ref.omitted]


def for_target(event: Any, spec: Any, target: Any, limit: int | None = None) -> Any:
    """``event`` as ``target`` sees it: its attachment references fitted to the channel's caps."""
    if not event.attachments:
        return event
    fitted = fit_attachments(event.attachments, caps_for(spec, target.options, limit), target.channel)
    return attrs.evolve(event, attachments=fitted)


def with_references(message: Any, event: Any) -> Any:
    """``message`` carrying ``event``'s (fitted) references, unless the channel set its own."""
    if message.attachments or not event.attachments:
        return message
    return attrs.evolve(message, attachments=tuple(a for a in event.attachments if isinstance(a, AttachmentRef)))


def checked(message: Any) -> tuple[Any, list[str]]:
    """``message`` with references whose stored copy vanished marked left out, and the receipt's warnings."""
    if not message.attachments:
        return message, []
    refs = tuple(ref.check() for ref in message.attachments)
    if refs != tuple(message.attachments):
        message = attrs.evolve(message, attachments=refs)
    return message, attachment_warnings(refs)
