"""The errors tocsin raises, and the two a channel raises to steer retries.

A channel's ``deliver`` (or the transport on its behalf) raises :class:`RetryableError` for faults that
may pass (connection refused, timeout, 5xx, 408, 429) and :class:`PermanentError` for ones that will
not (bad credentials, unknown webhook, malformed payload). Any other exception is treated as permanent
and reported with its type and message, redacted.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "PermanentError",
    "PluginError",
    "RetryableError",
    "TemplateError",
    "TocsinError",
]


class TocsinError(Exception):
    """Base of every error tocsin raises on purpose."""


class ConfigError(TocsinError):
    """The configuration is wrong. ``problems`` lists every one, each naming file and key path."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class PluginError(TocsinError):
    """A plugin could not be imported, or declares something inconsistent."""


class TemplateError(TocsinError):
    """A template is missing, does not compile, fails to render, or renders invalid output.

    The message names the template (and line, where Jinja knows it) and the target.
    """


class DeliveryError(TocsinError):
    """A delivery attempt failed. ``status_code`` is the HTTP status, where there was one."""

    retryable: bool = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableError(DeliveryError):
    """A fault that may pass: the engine retries with backoff, or after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """A fault that retrying cannot fix: the engine gives up at once and reports it."""
