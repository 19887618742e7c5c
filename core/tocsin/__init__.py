"""tocsin: tell people and systems what happened.

The public API::

    from tocsin import Event, Notifier
    with Notifier.from_file("tocsin.toml") as notifier:
        report = notifier.notify(Event("job_failed", data={"run_name": "nightly", "error": "disk full"}))
        submission = notifier.submit(Event("job_completed"))   # returns at once; .result() or await it

Channel authors use :data:`hookimpl`, :class:`Channel`, :class:`Message`, :class:`Secret`, the
errors, and ``tocsin.testing`` (see PLUGINS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Each public name and the module it lives in. Nothing is imported until a name is first used (PEP 562
# ``__getattr__`` below), so ``import tocsin`` costs next to nothing and ``from tocsin import Event``
# loads only the event model: httpx, jinja2 and the delivery engine load when something needs them.
_EXPORTS = {
    "Attachment": "attachments",
    "AttachmentRef": "attachments",
    "Channel": "channel",
    "Limit": "channel",
    "LocalServers": "channel",
    "NoOptions": "channel",
    "Config": "config",
    "DeliverySettings": "config",
    "Settings": "config",
    "Target": "config",
    "load_config": "config",
    "QueueFullError": "delivery.submission",
    "DIGEST_REASONS": "digest",
    "DIGEST_TYPE": "digest",
    "digest_event": "digest",
    "Submission": "delivery.submission",
    "ConfigError": "errors",
    "DeliveryError": "errors",
    "PermanentError": "errors",
    "PluginError": "errors",
    "RetryableError": "errors",
    "TemplateError": "errors",
    "TocsinError": "errors",
    "EVENT_TYPES": "events",
    "Event": "events",
    "EventType": "events",
    "Severity": "events",
    "Source": "events",
    "User": "events",
    "severity_for": "events",
    "hookimpl": "hookspecs",
    "Delivered": "messages",
    "Message": "messages",
    "Outcome": "messages",
    "Receipt": "messages",
    "Report": "messages",
    "Notifier": "notifier",
    "PluginRegistry": "plugins",
    "Field": "presentation",
    "Routes": "routing",
    "Subscription": "routing",
    "sample_digest": "samples",
    "sample_event": "samples",
    "Secret": "secrets",
    "Templates": "templating",
    "escape_markdown": "text",
    "fit_json": "text",
    "json_safe": "text",
    "terminal_safe": "text",
    "markdown_code": "text",
    "safe_url": "text",
    "truncate": "text",
    "truncate_middle": "text",
    "utf16_head": "text",
    "utf16_len": "text",
    "FilePart": "transport",
    "Response": "transport",
    "Transport": "transport",
    "encode_json": "transport",
    "UrlParts": "urls",
    "split_url": "urls",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (and cache the name here)."""
    if name == "__version__":
        value: Any = _version()
    elif name in _EXPORTS:
        from importlib import import_module

        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'tocsin' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tocsin")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from .attachments import Attachment, AttachmentRef
    from .channel import Channel, Limit, LocalServers, NoOptions
    from .config import Config, DeliverySettings, Settings, Target, load_config
    from .delivery.submission import QueueFullError, Submission
    from .digest import DIGEST_REASONS, DIGEST_TYPE, digest_event
    from .errors import (
        ConfigError,
        DeliveryError,
        PermanentError,
        PluginError,
        RetryableError,
        TemplateError,
        TocsinError,
    )
    from .events import EVENT_TYPES, Event, EventType, Severity, Source, User, severity_for
    from .hookspecs import hookimpl
    from .messages import Delivered, Message, Outcome, Receipt, Report
    from .notifier import Notifier
    from .plugins import PluginRegistry
    from .presentation import Field
    from .routing import Routes, Subscription
    from .samples import sample_digest, sample_event
    from .secrets import Secret
    from .templating import Templates
    from .text import (
        escape_markdown,
        fit_json,
        json_safe,
        markdown_code,
        safe_url,
        terminal_safe,
        truncate,
        truncate_middle,
        utf16_head,
        utf16_len,
    )
    from .transport import FilePart, Response, Transport, encode_json
    from .urls import UrlParts, split_url

    __version__: str

__all__ = [
    "DIGEST_REASONS",
    "DIGEST_TYPE",
    "EVENT_TYPES",
    "Attachment",
    "AttachmentRef",
    "Channel",
    "Config",
    "ConfigError",
    "Delivered",
    "DeliveryError",
    "DeliverySettings",
    "Event",
    "EventType",
    "Field",
    "FilePart",
    "Limit",
    "LocalServers",
    "Message",
    "NoOptions",
    "Notifier",
    "Outcome",
    "PermanentError",
    "PluginError",
    "PluginRegistry",
    "QueueFullError",
    "Receipt",
    "Report",
    "Response",
    "RetryableError",
    "Routes",
    "Secret",
    "Settings",
    "Severity",
    "Source",
    "Submission",
    "Subscription",
    "Target",
    "TemplateError",
    "Templates",
    "TocsinError",
    "Transport",
    "UrlParts",
    "User",
    "__version__",
    "digest_event",
    "encode_json",
    "escape_markdown",
    "fit_json",
    "hookimpl",
    "json_safe",
    "load_config",
    "markdown_code",
    "safe_url",
    "sample_digest",
    "sample_event",
    "severity_for",
    "split_url",
    "terminal_safe",
    "truncate",
    "truncate_middle",
    "utf16_head",
    "utf16_len",
]
