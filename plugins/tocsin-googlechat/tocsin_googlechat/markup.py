"""Google Chat markup helpers, registered as the ``googlechat_*`` Jinja filters.

Card text (``decoratedText.text``, ``textParagraph.text``) is formatted with a small HTML subset
(``<b>``, ``<i>``, ``<font color>``, ``<a href>``, ``<br>``): :func:`html` escapes event text for it
(``& < >`` become entities, so no tag or link can be forged) and turns line ends into
``<br>``. The message's ``text`` uses Chat's own syntax, where ``<users/all>`` mentions everyone and
``<https://x|label>`` is a link: :func:`text` keeps it on one line and puts a zero-width space after
every ``<``, so such tokens show as written and act as nothing.
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from tocsin import truncate_middle

__all__ = ["FILTERS", "ZWSP", "error_html", "html", "text"]

ZWSP = "\u200b"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _lines(value: Any) -> str:
    raw = "" if value is None else str(value)
    return _CONTROL.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))


def html(value: Any) -> str:
    """``value`` for card text: HTML-escaped, line ends as ``<br>``."""
    return _html.escape(_lines(value).strip("\n"), quote=False).replace("\n", "<br>")


def error_html(value: Any, limit: int = 4000) -> str:
    """An error for card text: its middle cut to ``limit`` characters (the first lines say where, the last
    what), then escaped."""
    return html(truncate_middle(_lines(value).strip(), limit))


def text(value: Any) -> str:
    """``value`` for the message's ``text``: one line, Chat's ``<…>`` tokens (mentions, links) defused."""
    return " ".join(_lines(value).split()).replace("<", "<" + ZWSP)


#: The filters the googlechat templates use, by name.
FILTERS = {
    "googlechat_html": html,
    "googlechat_error": error_html,
    "googlechat_text": text,
}
