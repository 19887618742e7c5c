"""Strict structuring of plain data (TOML, dicts) into attrs classes, collecting every problem.

cattrs does the conversion of each value; this module adds what a config file's user needs on top:
strict leaf types (``"5"`` is not an int, a string is not a list), unknown keys with a close-match
suggestion, and every problem named by its key path (``targets[1].url: required``), all of them at once.
"""

from __future__ import annotations

import difflib
import enum
import keyword
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union

import attrs
import cattrs

from .secrets import Secret

__all__ = [
    "Invalid",
    "Problems",
    "add_validation_problem",
    "converter",
    "describe",
    "option_key",
    "structure_attrs",
    "structure_value",
    "suggest",
]


class Problems(list):
    """A list of ``"path: message"`` strings that structuring fills instead of raising."""

    def add(self, path: str, message: str) -> None:
        self.append(f"{path}: {message}" if path else message)


class Invalid(ValueError):
    """Several ``"key: message"`` problems of one object, raised at once by its validation."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


converter = cattrs.Converter()
converter.register_structure_hook(Secret, lambda v, _: v if isinstance(v, Secret) else Secret(v))
converter.register_unstructure_hook(Secret, lambda v: str(v))
converter.register_structure_hook(Path, lambda v, _: Path(v))
converter.register_unstructure_hook(Path, str)


def describe(value: Any, *, secret: bool = False) -> str:
    """``'abc' (a string)``, ``42 (an integer)``: how an error shows the offending value.

    With ``secret``, only the kind is shown (``a string``), never the value.
    """
    kinds = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
        type(None): "nothing",
    }
    kind = kinds.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)) or secret:
        return kind
    if isinstance(value, Secret):
        return "a secret"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{shown} ({kind})"


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'username'?)`` or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_label(tp: Any) -> str:
    labels = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        Secret: "a string",
        Path: "a path string",
    }
    if tp in labels:
        return labels[tp]
    origin = typing.get_origin(tp)
    if origin in (list, tuple, set, frozenset):
        return "a list"
    if origin in (dict, Mapping):
        return "a table"
    if attrs.has(tp):
        return "a table"
    return getattr(tp, "__name__", str(tp))


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def structure_value(value: Any, tp: Any, path: str, problems: Problems) -> Any:
    """``value`` as type ``tp``; on a mismatch, record a problem at ``path`` and return None."""
    if tp is Any or tp is object:
        return value
    if _is_union(tp):
        members = typing.get_args(tp)
        if value is None and type(None) in members:
            return None
        non_none = [m for m in members if m is not type(None)]
        for member in non_none:
            trial = Problems()
            result = structure_value(value, member, path, trial)
            if not trial:
                return result
        if len(non_none) == 1:
            return structure_value(value, non_none[0], path, problems)
        got = describe(value, secret=Secret in non_none)
        problems.add(path, f"expected {' or '.join(_type_label(m) for m in non_none)}, got {got}")
        return None
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            listed = ", ".join(repr(c) for c in choices)
            problems.add(
                path, f"must be one of {listed}, not {describe(value)}{suggest(str(value), map(str, choices))}"
            )
            return None
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            listed = ", ".join(repr(m.value) for m in tp)
            problems.add(path, f"must be one of {listed}, not {describe(value)}")
            return None
    if tp is Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            problems.add(path, f"expected a string, got {describe(value, secret=True)}")
            return None
        return Secret(value)
    if attrs.has(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            problems.add(path, f"expected a table, got {describe(value)}")
            return None
        return structure_attrs(value, tp, path, problems)
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
            problems.add(path, f"expected a list, got {describe(value)}")
            return None
        args = typing.get_args(tp)
        item_type = args[0] if args else Any
        items = [structure_value(item, item_type, f"{path}[{i}]", problems) for i, item in enumerate(value)]
        return (origin or tp)(items) if (origin or tp) is not list else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            problems.add(path, f"expected a table, got {describe(value)}")
            return None
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any
        return {str(k): structure_value(v, value_type, f"{path}.{k}", problems) for k, v in value.items()}
    return _structure_leaf(value, tp, path, problems)


def _structure_leaf(value: Any, tp: Any, path: str, problems: Problems) -> Any:
    ok = {
        str: lambda v: isinstance(v, str),
        Secret: lambda v: isinstance(v, (str, Secret)),
        Path: lambda v: isinstance(v, (str, Path)),
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }.get(tp)
    if ok is not None and not ok(value):
        problems.add(path, f"expected {_type_label(tp)}, got {describe(value)}")
        return None
    if tp is float:
        return float(value)
    try:
        return converter.structure(value, tp)
    except Exception as exc:
        problems.add(path, f"expected {_type_label(tp)}, got {describe(value)} ({exc})")
        return None


def option_key(field: Any) -> str:
    """The config key of an attrs field: its alias, less the trailing ``_`` of a keyword (``from_`` → ``from``).

    attrs cannot alias a field to a Python keyword (its generated ``__init__`` would not compile), so
    a channel names the field ``from_`` and the config file still says ``from``.
    """
    name = field.alias or field.name
    if name.endswith("_") and keyword.iskeyword(name[:-1]):
        return name[:-1]
    return name


def structure_attrs(data: Mapping[str, Any], cls: type, path: str, problems: Problems) -> Any:
    """An instance of attrs class ``cls`` from ``data``, recording every problem under ``path``.

    Keys are field aliases (see :func:`option_key`); a field's ``metadata["doc"]`` is its
    documentation. Returns None when any problem was found for this class. All problems at once: an
    unknown or mistyped key does not hide the class's own checks of the other keys (``timeout = -5``
    next to a misspelt key), which run on the keys that structured well, as long as no required one failed;
    what they say about a key already reported is left out.
    """
    fields = {option_key(f): f for f in attrs.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    before = len(problems)
    for key in data:
        if key not in fields:
            problems.add(_join(path, key), f"unknown key{suggest(key, fields)}")
    kwargs: dict[str, Any] = {}
    flawed: list[str] = []
    for key, field in fields.items():
        if key not in data:
            if field.default is attrs.NOTHING:
                problems.add(_join(path, key), "required")
                flawed.append(key)
            continue
        mark = len(problems)
        value = structure_value(data[key], hints.get(field.name, field.type), _join(path, key), problems)
        if len(problems) > mark:
            flawed.append(key)
            continue
        kwargs[field.alias or field.name] = value
    if any(fields[key].default is attrs.NOTHING for key in flawed):
        return None
    checked = Problems()
    try:
        instance = cls(**kwargs)
    except (ValueError, TypeError) as exc:
        add_validation_problem(path, exc, fields, checked)
        instance = None
    reported = tuple(f"{_join(path, key)}{end}" for key in flawed for end in (":", "[", "."))
    problems.extend(p for p in checked if not p.startswith(reported))
    return instance if len(problems) == before else None


def add_validation_problem(path: str, exc: Exception, keys: Iterable[str], problems: Problems) -> None:
    """Record a validator's ``"key: message"`` error at ``path.key`` (else at ``path``); an
    :class:`Invalid` records each of its problems."""
    if isinstance(exc, Invalid):
        for problem in exc.problems:
            add_validation_problem(path, ValueError(problem), keys, problems)
        return
    message = str(exc)
    key, sep, rest = message.partition(": ")
    if sep and key.split("[", 1)[0] in keys:
        problems.add(_join(path, key), rest)
    else:
        problems.add(path, message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
