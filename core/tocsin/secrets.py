"""Secret values (webhook URLs, tokens, passwords, signing keys) that never print themselves.

Channel options declare secret fields with the :class:`Secret` type; config loading wraps the strings.
``str()``, ``repr()`` and f-strings show ``'***'``; only :meth:`Secret.reveal` gives the value, and
only code that sends it over the wire should call it.

Redaction works by every meaningful part of a secret (:func:`secret_parts`), because servers and
libraries quote parts back, not whole values:

* the whole value, and its URL-quoted forms;
* in a URL: the userinfo (``user:PASS@``: the password, the user, and the base64 of ``user:pass`` that
  an HTTP client sends as ``Authorization: Basic``), every path segment and every query value that looks
  like a credential (see below), and the path and query together;
* in a header value ``<scheme> <credentials>`` (``Bearer tok``, ``Basic dXNlcjpwYXNz``, ``token x``): the
  credentials, and for ``Basic`` the decoded ``user:pass`` and password.

The rule for URL path segments and query values: a part is a credential unless it is shorter than
6 characters, or is a plain word (only lower-case ASCII letters and ``-``, ``_``, ``.``) shorter than 16
characters. So ``webhooks``, ``api``, ``services``, ``triggers``, ``v1`` stay readable in errors, while
ids and tokens (``123456789012345678``, ``T0ABCDEF``, ``XyZ…``, ``sig=…``) are replaced. Whole secret values
are always redacted when at least 4 characters long.

Where text leaves the process:

* :func:`redact` / :func:`redact_for` scrub text before it becomes an error, a receipt, a report, a
  stored row (an outbox calls ``redact_for(target, text)`` on every column it writes that came from a
  server or an exception) or CLI output;
* :func:`install_log_redaction` (done on import) wraps the logging record factory, so every log record of
  every library at every level (httpx INFO lines, httpcore DEBUG records of child loggers) is scrubbed of
  every secret this process has created, before any filter or handler sees it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import attrs

__all__ = [
    "REDACTED",
    "Secret",
    "active_secrets",
    "find_secrets",
    "install_log_redaction",
    "known_secrets",
    "redact",
    "redact_for",
    "redacting",
    "reveal",
    "scrub",
    "secret_parts",
]

REDACTED = "***"
#: Whole secret values shorter than this are not redacted (they would blank out ordinary text).
MIN_SECRET = 4
#: URL path segments and query values shorter than this are never taken for credentials.
MIN_PART = 6
#: Plain words (lower-case letters, ``-_.``) shorter than this are never taken for credentials.
MIN_WORD_PART = 16
_PLAIN_WORD = re.compile(r"^[a-z._-]+$")
_AUTH_VALUE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)\s+(\S+)\s*$")

_known: dict[str, None] = {}
_known_lock = threading.Lock()
_known_version = 0


@attrs.frozen(repr=False, eq=True, hash=True)
class Secret:
    """A string that must never be shown: ``repr``/``str``/``format`` all give ``'***'``.

    Every Secret made in this process is remembered, so log records are scrubbed of it wherever they
    come from (see :func:`install_log_redaction`).
    """

    _value: str = attrs.field(alias="value")

    def __attrs_post_init__(self) -> None:
        _remember(self._value)

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


def _remember(value: Any) -> None:
    global _known_version
    if isinstance(value, str) and len(value) >= MIN_SECRET and value not in _known:
        with _known_lock:
            _known[value] = None
            _known_version += 1


def known_secrets() -> tuple[str, ...]:
    """Every secret value this process has made a :class:`Secret` of."""
    return tuple(_known)


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


def _credential_like(part: str) -> bool:
    """Whether a URL path segment or query value is worth redacting (the rule in the module docstring)."""
    if len(part) < MIN_PART:
        return False
    return not (_PLAIN_WORD.match(part) and len(part) < MIN_WORD_PART)


def _basic_parts(user: str, password: str) -> Iterator[str]:
    pair = f"{user}:{password}"
    yield base64.b64encode(pair.encode("utf-8", "replace")).decode("ascii")
    if len(password) >= MIN_SECRET:
        yield password
    if _credential_like(user):
        yield user


def _url_parts(value: str) -> Iterator[str]:
    try:
        parts = urlsplit(value)
    except ValueError:
        return
    if not parts.scheme or not parts.netloc:
        return
    if parts.password is not None or parts.username:
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        yield from _basic_parts(user, password)
        userinfo = parts.netloc.rsplit("@", 1)[0]
        if len(userinfo) >= MIN_SECRET:
            yield userinfo
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(tail.strip("/")) >= MIN_PART:
        yield tail
        yield tail.lstrip("/")
    for segment in parts.path.split("/"):
        if _credential_like(unquote(segment)):
            yield segment
            yield unquote(segment)
    for _name, query_value in parse_qsl(parts.query, keep_blank_values=False):
        if _credential_like(query_value):
            yield query_value


def _header_parts(value: str) -> Iterator[str]:
    match = _AUTH_VALUE.match(value)
    if not match:
        return
    scheme, credentials = match.groups()
    if len(credentials) >= MIN_SECRET:
        yield credentials
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return
        user, sep, password = decoded.partition(":")
        if sep:
            yield decoded
            yield from _basic_parts(user, password)


def secret_parts(secret: str) -> set[str]:
    """Every meaningful part of ``secret`` that must not be shown (see the module docstring)."""
    if not secret or len(secret) < MIN_SECRET:
        return set()
    found = {secret}
    found.update(_url_parts(secret) if "://" in secret else _header_parts(secret))
    variants = set()
    for part in found:
        variants.add(part)
        variants.add(quote(part, safe=""))
        variants.add(quote(part, safe="/"))
        variants.add(quote(part, safe=":/?&="))
    return {v for v in variants if len(v) >= MIN_SECRET}


_pattern_cache: dict[frozenset[str], re.Pattern[str] | None] = {}


def _pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    key = frozenset(s for s in secrets if s)
    if key in _pattern_cache:
        return _pattern_cache[key]
    parts: set[str] = set()
    for secret in key:
        parts |= secret_parts(secret)
    pattern = re.compile("|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))) if parts else None
    if len(_pattern_cache) > 256:
        _pattern_cache.clear()
    _pattern_cache[key] = pattern
    return pattern


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every part (:func:`secret_parts`) of each secret replaced by ``***``."""
    if not text:
        return text
    pattern = _pattern(secrets)
    return pattern.sub(REDACTED, text) if pattern is not None else text


def scrub(text: str) -> str:
    """``text`` with every part of every secret this process knows replaced by ``***`` (CLI output, logs)."""
    return redact(text, _known)


def redact_for(target: Any, text: str | None) -> str | None:
    """``text`` fit to leave the process on behalf of ``target``: its secrets' parts and every other known
    secret's replaced. Call it on everything stored or shown that came from a server or an exception (an
    outbox's error columns, a report, a log line of your own)."""
    if text is None:
        return None
    options = getattr(target, "options", target)
    return redact(text, [*find_secrets(options), *_known])


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
    """The secrets of the target being delivered to in this task, and every other secret this process knows."""
    return (*_active.get(), *_known)


# -- logs ----------------------------------------------------------------------------------------------
_URL_PATH = re.compile(r"(https?://[^/\s\"'<>]+)/[^\s\"'<>]*")
_URL_USERINFO = re.compile(r"(https?://)[^/\s\"'<>@]+@")
_HTTP_LOGGERS = ("httpx", "httpcore", "hpack", "h11", "h2", "aiohttp", "urllib3")
_installed_marker = "_tocsin_redacting_factory"
_factory_cache: dict[str, Any] = {"version": -1, "pattern": None}


def _log_pattern() -> re.Pattern[str] | None:
    if _factory_cache["version"] != _known_version:
        _factory_cache["pattern"] = _pattern(tuple(_known))
        _factory_cache["version"] = _known_version
    return _factory_cache["pattern"]


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub a log record in place: its message (formatted with its args), exception and stack text.

    Every known secret's parts are replaced; records of HTTP client libraries also lose every URL's
    userinfo, path and query (where webhook tokens live, even those no Secret holds).
    """
    pattern = _log_pattern()
    http = record.name.split(".", 1)[0] in _HTTP_LOGGERS
    if pattern is None and not http:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to logging's own error handling
        return record
    cleaned = _clean(message, pattern, http)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = _clean(record.exc_text, pattern, http)
    if record.stack_info:
        record.stack_info = _clean(record.stack_info, pattern, http)
    return record


def _clean(text: str, pattern: re.Pattern[str] | None, http: bool) -> str:
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    if http:
        text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
        text = _URL_PATH.sub(rf"\1/{REDACTED}", text)
    return text


def install_log_redaction() -> None:
    """Make every log record of this process pass through :func:`redact_record` (idempotent).

    It wraps the record factory (``logging.setLogRecordFactory``), so it applies to records of every
    logger, parent or child, at every level, whatever filters and handlers the application installs.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, _installed_marker, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(factory, _installed_marker, True)
    logging.setLogRecordFactory(factory)


install_log_redaction()
