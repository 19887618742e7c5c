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

from importlib.metadata import PackageNotFoundError, version

from .attachments import Attachment, AttachmentRef
from .channel import Channel, Limit, LocalServers, NoOptions
from .config import Config, DeliverySettings, Settings, Target, load_config
from .delivery import QueueFullError, Submission
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

try:
    __version__ = version("tocsin")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

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
