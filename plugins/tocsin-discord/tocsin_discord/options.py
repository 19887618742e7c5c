"""The ``discord`` channel's options: what a ``[[targets]]`` table with ``channel = "discord"`` may hold."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

import attrs

from tocsin import Secret

__all__ = ["DiscordOptions", "Mention", "parse_mention"]

SEVERITIES = ("success", "failure", "warning", "info")
_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_MENTION_FORMS = (
    (re.compile(r"^role:\s*([0-9]{1,20})$"), "roles"),
    (re.compile(r"^user:\s*([0-9]{1,20})$"), "users"),
    (re.compile(r"^<@&([0-9]{1,20})>$"), "roles"),
    (re.compile(r"^<@!?([0-9]{1,20})>$"), "users"),
)
_DISCORD_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
_WEBHOOK_PATH = re.compile(r"^/api(/v[0-9]+)?/webhooks/[0-9]+/[^/]+/?$")


@attrs.frozen
class Mention:
    """Who a message pings: ``kind`` is ``"roles"`` or ``"users"`` (the ``allowed_mentions`` key)."""

    kind: str
    id: str

    @property
    def tag(self) -> str:
        """The mention as message content writes it: ``<@&id>`` for a role, ``<@id>`` for a user."""
        return f"<@&{self.id}>" if self.kind == "roles" else f"<@{self.id}>"


def parse_mention(value: str) -> Mention:
    """``"role:123"``, ``"user:123"``, ``"<@&123>"`` or ``"<@123>"`` as a :class:`Mention`."""
    text = value.strip()
    for pattern, kind in _MENTION_FORMS:
        match = pattern.match(text)
        if match:
            return Mention(kind, match.group(1))
    raise ValueError(
        "mention: expected a role or user id written 'role:<id>', 'user:<id>', '<@&id>' or '<@id>' "
        f"(@everyone and @here are not allowed), got {value[:60]!r}"
    )


def _check_url(_instance: object, _attribute: object, value: Secret) -> None:
    url = value.reveal() if isinstance(value, Secret) else str(value)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("url: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("url: must be an http(s) URL: the webhook URL from the channel's Integrations → Webhooks")
    if (parts.hostname or "") in _DISCORD_HOSTS:
        if parts.path.rstrip("/").endswith(("/slack", "/github")):
            raise ValueError("url: use the plain webhook URL, without the /slack or /github suffix")
        if not _WEBHOOK_PATH.match(parts.path):
            raise ValueError("url: a Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>")


def _check_username(_instance: object, _attribute: object, value: str | None) -> None:
    if value is None:
        return
    name = value.strip()
    if not 1 <= len(name) <= 80:
        raise ValueError("username: must be 1 to 80 characters (Discord rejects others)")
    lowered = name.lower()
    for word in ("discord", "clyde"):
        if word in lowered:
            raise ValueError(f"username: Discord rejects webhook names that contain {word!r}")
    if lowered in ("everyone", "here"):
        raise ValueError(f"username: Discord rejects the webhook name {name!r}")


def _check_avatar_url(_instance: object, _attribute: object, value: str | None) -> None:
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError("avatar_url: must be an http(s) URL of an image")


def _to_thread_id(value: str | int | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not _SNOWFLAKE.match(text):
        raise ValueError(
            f"thread_id: must be the thread's numeric id (right-click → Copy Thread ID), got {text[:40]!r}"
        )
    return text


def _to_mention(value: str | None) -> Mention | None:
    if value is None or isinstance(value, Mention):
        return value
    return parse_mention(value)


def _to_severities(value: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = SEVERITIES if value.lower() == "always" else (value,)
    severities = tuple(str(v).lower() for v in value)
    for severity in severities:
        if severity not in SEVERITIES:
            raise ValueError(f"mention_when: must be 'always' or a list of {', '.join(SEVERITIES)}; got {severity!r}")
    return severities


@attrs.frozen
class DiscordOptions:
    """Options of the ``discord`` channel (a Discord channel webhook)."""

    url: Secret = attrs.field(
        validator=_check_url,
        metadata={"doc": "The webhook URL (channel settings → Integrations → Webhooks). Secret: use ${ENV}."},
    )
    username: str | None = attrs.field(
        default=None,
        validator=_check_username,
        metadata={"doc": "Name shown as the sender, instead of the webhook's own (1–80 characters)."},
    )
    avatar_url: str | None = attrs.field(
        default=None,
        validator=_check_avatar_url,
        metadata={"doc": "Image URL shown as the sender's avatar, instead of the webhook's own."},
    )
    thread_id: str | int | None = attrs.field(
        default=None,
        converter=_to_thread_id,
        metadata={"doc": "Post into this thread of the webhook's channel (sent as the thread_id query parameter)."},
    )
    content: bool = attrs.field(
        default=True,
        metadata={
            "doc": "Also send a one-line plain-text summary above the embed (what push notifications show); "
            "false sends the embed alone."
        },
    )
    mention: str | None = attrs.field(
        default=None,
        converter=_to_mention,
        metadata={
            "doc": "Role or user to ping, as 'role:<id>' or 'user:<id>' (or '<@&id>' / '<@id>'). "
            "Nobody is pinged without it; @everyone/@here never are."
        },
    )
    mention_when: str | list[str] = attrs.field(
        default=("failure",),
        converter=_to_severities,
        metadata={"doc": "Severities whose messages carry the mention: a list, or 'always'."},
    )
    max_attachment_bytes: int = attrs.field(
        default=10 * 1024 * 1024,
        validator=attrs.validators.ge(0),
        metadata={
            "doc": "Largest upload, per file and for all files of one message: 10 MiB (Discord's default); "
            "raise it for a boosted server (50 MiB at level 2, 100 MiB at level 3)."
        },
    )
