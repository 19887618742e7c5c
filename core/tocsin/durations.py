"""Durations, in the one syntax every tocsin setting uses: seconds as a number, or a number and a unit.

``30`` or ``"30s"`` (seconds), ``"10m"`` (minutes), ``"2h"`` (hours), ``"1d"`` (days), ``"1w"`` (weeks);
``"1.5h"`` works too. A bad value raises ValueError with a message the config loader puts under the key
that held it (``targets[0].dedup_window: not a duration: '10x' (…)``).
"""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(value: float | int | str) -> float:
    """Seconds from ``30``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"`` or ``"1w"`` (ValueError otherwise)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a duration must not be negative, not {value!r}")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use seconds, or 30s, 5m, 2h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_duration(seconds: float) -> str:
    """``0.2s``, ``45s``, ``5m``, ``2h 30m``: a short human duration."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h {rest // 60}m" if rest >= 60 else f"{hours}h"
