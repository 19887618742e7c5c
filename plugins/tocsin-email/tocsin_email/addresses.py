"""Mail addresses and header text: parsing, validation, and the cleaning that makes injection impossible.

Every header value tocsin writes goes through :func:`header_text` (one line: CR, LF and every other
control or bidi-override character become a space, runs of whitespace collapse), and every address
through :func:`parse_mailbox` (a plain ``local@domain`` with an optional display name; anything else is
refused). So event data can put neither a second header nor a second recipient into a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address

import attrs

__all__ = ["Mailbox", "body_text", "dedupe", "header_text", "parse_mailbox"]

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDR_SPEC = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")

# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates, BOM: never in a header. (A regex class, not
# str.translate with a dict: that looks each character up in Python and cost ~150 µs per email body.)
_HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# In a body: every C0 control but tab and newline, and DEL (NUL, ESC and BEL have no business in mail).
_BODY_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (which cannot be encoded) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def header_text(value: object) -> str:
    """``value`` as one safe header line: controls and bidi overrides dropped, whitespace collapsed."""
    return " ".join(_HEADER_UNSAFE.sub(" ", _valid_unicode(str(value))).split())


def body_text(value: object) -> str:
    """``value`` as a mail body: ``\\n`` line ends, no control characters but tab and newline."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _valid_unicode(_BODY_UNSAFE.sub("", text))


@attrs.frozen
class Mailbox:
    """One address: a display name (may be empty) and an ASCII ``local@domain``."""

    name: str
    addr: str

    @property
    def domain(self) -> str:
        return self.addr.rpartition("@")[2]

    def header(self) -> str:
        """The RFC 5322 form, display name quoted where needed: ``"Ops, EU" <ops@example.org>``."""
        if not self.name:
            return self.addr
        return str(Address(display_name=self.name, addr_spec=self.addr))


def parse_mailbox(value: object, *, name: str | None = None) -> Mailbox:
    """``"Ops <ops@example.org>"`` or ``"ops@example.org"`` as a :class:`Mailbox`; ValueError otherwise.

    ``name`` (e.g. an event user's name) replaces the display name. An internationalised domain is
    converted to its ASCII (IDNA) form; the local part must be ASCII.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an address string, got {type(value).__name__}")
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("an address may not contain line breaks")
    text = value.strip()
    match = re.fullmatch(r"(.*?)\s*<([^<>]*)>", text, re.DOTALL)
    if match:
        display, addr = match.group(1).strip(), match.group(2).strip()
        if len(display) >= 2 and display[0] == display[-1] == '"':
            display = display[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if "<" in display or ">" in display:
            raise ValueError(f"{_shown(value)} is not one address")
    else:
        display, addr = "", text
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"{_shown(value)} is not an email address")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{_shown(value)} has an invalid domain") from None
    addr = f"{local}@{domain}"
    if not ADDR_SPEC.fullmatch(addr) or len(addr) > 254:
        raise ValueError(f"{_shown(value)} is not a plain email address (local@domain, ASCII local part)")
    return Mailbox(header_text(display if name is None else name), addr)


def dedupe(boxes: Iterable[Mailbox], seen: set[str] | None = None) -> list[Mailbox]:
    """``boxes`` without repeated addresses (case-insensitive), first kept; ``seen`` is shared state."""
    seen = set() if seen is None else seen
    kept = []
    for box in boxes:
        key = box.addr.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(box)
    return kept


def _shown(value: str, limit: int = 80) -> str:
    text = header_text(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
