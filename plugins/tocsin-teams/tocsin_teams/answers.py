"""Reading Teams' answers: Workflows errors, and the legacy connector's "error inside a 200".

A Workflows (Power Automate / Logic Apps) webhook answers 202 Accepted (sometimes 200) when the
flow was started, and errors as JSON: ``{"error": {"code": "WorkflowNotFound", "message": "..."}}``.
The core's transport already classifies the status (429, 408 and 5xx retried, other 4xx permanent);
this module puts the code and message into the error, with a hint for the usual causes.

A legacy Office 365 connector answers ``1`` on success but has been known to answer 200 with a text
such as ``Microsoft Teams endpoint returned HTTP error 429 with ContextId …``: :func:`check_answer`
turns that into the failure it is (retried for 429 and 5xx).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tocsin import PermanentError, Response, RetryableError
from tocsin.transport import reason_from_body

__all__ = ["check_answer", "describe_error"]

_HINTS = {
    401: "the URL may be incomplete: copy all of it, including its sig= parameter",
    403: "the URL may be incomplete: copy all of it, including its sig= parameter",
    404: "the workflow or webhook no longer exists, or the URL is wrong",
    413: "the card is too large for Teams: lower this target's max_bytes",
}
_CONNECTOR_ERROR = re.compile(r"returned HTTP error (\d{3})")
_LIMIT = 300


def describe_error(response: Response) -> str | None:
    """The reason for a non-2xx answer: the Workflows error code and message, plus a hint."""
    body = response.json()
    reason = None
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        error = body["error"]
        parts = [str(error[key]) for key in ("code", "message") if error.get(key)]
        reason = ": ".join(parts)[:_LIMIT] or None
    hint = _HINTS.get(response.status_code)
    if reason is None and hint is None:
        return None  # the core's reason_from_body does as well
    reason = reason or reason_from_body(response, _LIMIT)
    return f"{reason} ({hint})" if hint else reason


def check_answer(response: Response) -> None:
    """Raise for a 2xx answer whose text reports a failure (legacy connectors do this)."""
    text = response.text or ""
    match = _CONNECTOR_ERROR.search(text[:2000])
    if match is None:
        return
    status = int(match.group(1))
    said = " ".join(text.split())[:_LIMIT]
    message = f"HTTP {response.status_code}, but Teams reported HTTP {status}: {said}"
    if status in (408, 429) or status >= 500:
        raise RetryableError(message, status_code=status)
    raise PermanentError(message, status_code=status)
