"""What a plugin declares about each channel it provides (returned from the ``tocsin_channels`` hook).

Besides its name, options and templates, a channel declares the limits (:class:`Limit`) its messages keep
within (checked against the hostile-input corpus by the core's suite) and ``test_options``: how to point
one of its targets at local test servers (:class:`LocalServers`), so the core's cross-channel suites
(secrets, hostile input) run every installed channel, including ones written later.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import attrs

from .noise_config import RateLimit, parse_rate_limit
from .structure import option_key

__all__ = ["Channel", "Limit", "LocalServers", "NoOptions"]


@attrs.frozen
class NoOptions:
    """The options class of a channel that takes none."""


@attrs.frozen
class Limit:
    """A bound a channel keeps every message within, whatever the event data holds.

    ``where`` names what is bounded: a path into the message's plain data (:meth:`Message.to_dict`), with
    ``[]`` for every item of a list — ``"text"``, ``"subject"``, ``"html"``, ``"headers.X-Title"``,
    ``"body.content"``, ``"body.embeds[].title"`` — or ``"wire"``: the bytes of one delivery as the
    receiver gets them (an HTTP request's body, a mail's bytes, the text printed). ``max`` is the most
    units allowed (``chars``: code points, ``utf16``: UTF-16 code units, ``bytes``: UTF-8 bytes,
    ``items``: entries of a list);
    ``one_line`` forbids CR and LF (a one-line title or header). A missing path is not an error.
    """

    where: str
    max: int | None = None
    unit: Literal["chars", "utf16", "bytes", "items"] = "chars"
    one_line: bool = False


@attrs.frozen
class LocalServers:
    """What ``Channel.test_options`` gets: servers on 127.0.0.1 to deliver to, and a secret marker.

    ``http_url`` is an HTTP server's base URL (``http://127.0.0.1:<port>``, any path accepted);
    ``smtp_host``/``smtp_port`` an SMTP server, plain (no TLS), that accepts AUTH as ``smtp_user`` with the
    password ``secret``. ``secret`` is a unique string (letters and digits) the options must carry in
    every :class:`~tocsin.Secret` option (in a URL: in its path or query, where the platform's token
    would be), so tests can check it never leaks.
    """

    http_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = "tocsin"
    secret: str = "tocsinTestSecret0"


@attrs.frozen
class Channel:
    """A channel a plugin provides.

    ``name`` is what targets put in ``channel = "..."``. ``options`` is an attrs class: each field is a
    target key (type-checked, required unless it has a default, documented by ``metadata["doc"]``),
    and fields typed :class:`tocsin.Secret` are redacted everywhere. ``templates`` is the folder that
    holds ``<name>/default.json.j2`` and friends (usually ``Path(__file__).parent / "templates"``).
    ``filters`` are Jinja filters the channel's templates need, registered by their names (prefix them
    with the channel name, like ``slack_escape``, so they cannot clash).

    ``personal`` says the channel addresses people (email): routing sends ``notify_user`` messages and an
    event's own recipients through it, each as a separate delivery whose target has ``direct_to`` set to
    the addresses it must go to instead of the configured ones.

    ``schemes`` are the URL schemes (Apprise's, like ``discord`` or ``mailtos``) that name this channel
    in ``tocsin send --to URL`` and in a target's ``url`` key; ``from_url`` turns such a URL into the
    channel's option mapping (raising ValueError with a message that never repeats the URL, which holds
    secrets). Both or neither.

    ``limits`` are the platform's bounds the channel enforces (see :class:`Limit`); ``test_options``
    is ``f(servers: LocalServers) -> dict`` (or a list of dicts, one per way of configuring the channel):
    a target's options that deliver to ``servers`` with ``servers.secret`` in every secret option (the
    core's suites run every installed channel with each).
    Attachments: ``max_attachment_bytes`` is the largest file the channel sends (0, the default: it sends
    none and its messages list the files by name), ``max_attachments`` how many files one message carries,
    ``max_attachments_total_bytes`` how many bytes they may make together (None: no such cap). A target's
    own ``max_attachment_bytes`` option, when the channel's options have one, replaces the per-file cap
    (a boosted Discord server, a self-hosted ntfy). Files over a cap are left out with a note, never failed.

    ``rate_limit`` is the platform's documented sending limit for one destination, as ``"N/period"``
    (``"30/1m"``, ``"1/1s"``): every target of the channel keeps under it unless the target (or
    ``[notifications]``) sets its own ``rate_limit`` (``"off"`` for none). Beyond it, deliveries are held
    and sent as one digest when the window opens, so a burst never earns a storm of HTTP 429s.
    """

    name: str
    options: type = NoOptions
    templates: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    description: str = ""
    filters: dict[str, Callable[..., Any]] = attrs.field(factory=dict)
    personal: bool = False
    schemes: tuple[str, ...] = attrs.field(default=(), converter=lambda v: tuple(s.lower() for s in v))
    from_url: Callable[[str], dict[str, Any]] | None = None
    limits: tuple[Limit, ...] = attrs.field(default=(), converter=tuple)
    test_options: Callable[[LocalServers], Any] | None = attrs.field(default=None, eq=False)
    max_attachment_bytes: int = 0
    max_attachments: int | None = None
    max_attachments_total_bytes: int | None = None
    rate_limit: str | None = None

    def __attrs_post_init__(self) -> None:
        if bool(self.schemes) != (self.from_url is not None):
            raise ValueError(f"channel {self.name!r}: give schemes and from_url together")
        if self.rate_limit is not None:
            try:
                parse_rate_limit(self.rate_limit)
            except ValueError as exc:
                raise ValueError(f"channel {self.name!r}: rate_limit: {exc}") from None

    @property
    def default_rate_limit(self) -> RateLimit | None:
        """The declared ``rate_limit``, parsed (None when the channel declares none)."""
        return None if self.rate_limit is None else parse_rate_limit(self.rate_limit)

    def option_docs(self) -> list[dict[str, Any]]:
        """Each option's name, type, default and doc, for ``tocsin channels``."""
        rows = []
        for field in attrs.fields(self.options):
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()  # type: ignore[union-attr]
            required = field.default is attrs.NOTHING
            rows.append(
                {
                    "name": option_key(field),
                    "type": _type_name(field.type),
                    "required": required,
                    "default": None if required else _plain(default),
                    "secret": "Secret" in _type_name(field.type),
                    "doc": field.metadata.get("doc", ""),
                }
            )
        return rows


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is typing.Literal:
        return " | ".join(repr(choice) for choice in typing.get_args(tp))
    if isinstance(tp, str):
        return tp
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("tocsin.secrets.", "")


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
