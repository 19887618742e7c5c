"""What a plugin declares about each channel it provides (returned from the ``tocsin_channels`` hook)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from .structure import option_key

__all__ = ["Channel", "NoOptions"]


@attrs.frozen
class NoOptions:
    """The options class of a channel that takes none."""


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
    """

    name: str
    options: type = NoOptions
    templates: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    description: str = ""
    filters: dict[str, Callable[..., Any]] = attrs.field(factory=dict)
    personal: bool = False
    schemes: tuple[str, ...] = attrs.field(default=(), converter=lambda v: tuple(s.lower() for s in v))
    from_url: Callable[[str], dict[str, Any]] | None = None

    def __attrs_post_init__(self) -> None:
        if bool(self.schemes) != (self.from_url is not None):
            raise ValueError(f"channel {self.name!r}: give schemes and from_url together")

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
