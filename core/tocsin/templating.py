"""Template loading and rendering: deployment overrides first, then the channel's, then the core's.

Lookup for a target of channel ``discord`` and event ``job_failed``, part ``json``: the folders are
searched in order — the deployment's ``template_dirs``, the target's ``template_dir``, every loaded
channel's packaged ``templates/`` folder, the core's — and the first folder that holds
``discord/job_failed.json.j2`` or ``discord/default.json.j2`` decides (the event-specific name first).
So a deployment's ``default`` overrides the channel's event-specific templates too.
``{% extends "discord:discord/default.json.j2" %}`` names the channel's packaged copy directly, so an
override can extend it and call ``{{ super() }}`` (in ``json`` templates, a block's output is inserted as the
JSON it is, so ``{{ super() }}, {"name": "Region", "value": "eu"}`` adds one field).

Three output kinds, each with its own escaping, all sharing the loaders and compiled once:

* ``json`` — every ``{{ … }}`` is JSON-encoded (write ``"title": {{ title }}``, no quotes), so event
  data can never break the document; the result is parsed before it is returned.
* ``html`` — autoescaped.
* ``text`` (``txt``, ``subject``, ``md`` and any other part) — as written; ``subject`` is one line.

A ``digest`` event (:func:`tocsin.digest_event`) also gets ``digest`` in its context
(:func:`tocsin.digest.digest_view`: count, omitted, reason, group, since, until and the listed events);
``digest.events | digest_fit(15, 9000)`` keeps the first events that fit a channel's room.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import jinja2
from markupsafe import Markup

from .digest import DIGEST_TYPE, digest_fit, digest_view
from .errors import TemplateError
from .presentation import format_duration, format_size, format_time, template_context
from .secrets import Secret
from .text import json_safe, number_text, truncate

if TYPE_CHECKING:
    from .config import Target
    from .events import Event
    from .plugins import PluginRegistry

__all__ = ["RawJson", "Templates", "core_templates_dir"]


def core_templates_dir() -> Path:
    """The core's shared templates: inside the installed package, or the checkout's ``templates/``."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


class RawJson(str):
    """Already-encoded JSON that a ``json`` template inserts as it is (from the ``json`` filter)."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Secret):  # before attrs.has: a Secret is an attrs class holding the real value
        return str(value)
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "value") and isinstance(value.value, (str, int)):
        return value.value  # enums
    return str(value)


#: What ``json.dumps(value, ensure_ascii=False, default=_json_default, allow_nan=False)`` builds on every call,
#: built once (a template encodes ~30 values; the encoder's construction was most of each one's cost).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_default, allow_nan=False)


def to_json(value: Any) -> RawJson:
    """Any value as JSON text (strings escaped, non-ASCII kept, datetimes ISO); never fails: NaN and
    ±Infinity become the strings ``"NaN"``/``"Infinity"``/``"-Infinity"`` and nesting deeper than 64
    levels a string saying so (:func:`tocsin.text.json_safe`)."""
    if isinstance(value, jinja2.Undefined):
        return RawJson("null")
    if isinstance(value, RawJson):
        return value
    try:
        return RawJson(_ENCODER.encode(value))
    except (ValueError, RecursionError):  # NaN/Infinity, or nesting too deep: the one rule in tocsin.text
        return RawJson(json.dumps(json_safe(value, _json_default), ensure_ascii=False, allow_nan=False))


def _human(value: Any) -> Any:
    return number_text(value) if isinstance(value, float) else value


def _concat_json(parts: Iterable[str]) -> RawJson:
    """How a ``json`` environment joins template output: the result is marked as already-encoded JSON."""
    return RawJson("".join(parts))


class _ChannelTemplatesLoader(jinja2.BaseLoader):
    """Searches every loaded channel's packaged folder; ``"<channel>:<name>"`` searches one only."""

    def __init__(self, registry: PluginRegistry, core_dir: Path) -> None:
        self.registry = registry
        self.core_dir = core_dir
        self._loaders: dict[Path, jinja2.FileSystemLoader] = {}

    def _fs(self, path: Path) -> jinja2.FileSystemLoader:
        loader = self._loaders.get(path)
        if loader is None:
            loader = self._loaders[path] = jinja2.FileSystemLoader(str(path))
        return loader

    def _search(self, name: str) -> list[Path]:
        dirs = dict(self.registry.template_dirs())
        if ":" in name:
            prefix = name.split(":", 1)[0]
            if prefix == "tocsin":
                return [self.core_dir]
            return [dirs[prefix]] if prefix in dirs else []
        return [*dirs.values(), self.core_dir]

    def locations(self) -> list[jinja2.FileSystemLoader]:
        """One loader per folder searched for unprefixed names, in search order."""
        return [self._fs(folder) for folder in self._search("")]

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        name = template.split(":", 1)[1] if ":" in template else template
        for folder in self._search(template):
            try:
                return self._fs(folder).get_source(environment, name)
            except jinja2.TemplateNotFound:
                continue
        raise jinja2.TemplateNotFound(template)


class Templates:
    """A notifier's templates: the loaders, the three environments, and rendering helpers.

    Channel plugins call :meth:`render_json`, :meth:`render_text`, :meth:`render_html` or
    :meth:`render` from ``format_message``; each looks up ``<channel>/<event type>.<part>.j2`` then
    ``<channel>/default.<part>.j2`` and names the template and line in any error.
    """

    def __init__(self, registry: PluginRegistry, template_dirs: Sequence[Path] = ()) -> None:
        self.registry = registry
        self.template_dirs = [Path(d) for d in template_dirs]
        self._channel_loader = _ChannelTemplatesLoader(registry, core_templates_dir())
        self._envs: dict[tuple[Path | None, str], jinja2.Environment] = {}
        self._chosen: dict[tuple[int, tuple[str, ...]], str] = {}

    # -- environments ----------------------------------------------------------------------------
    def environment(self, kind: str, template_dir: Path | None = None) -> jinja2.Environment:
        """The environment for output ``kind`` (json, html, text) and a target's own ``template_dir``."""
        key = (template_dir, kind)
        env = self._envs.get(key)
        if env is None:
            env = self._envs[key] = self._make_env(kind, template_dir)
        return env

    def _make_env(self, kind: str, template_dir: Path | None) -> jinja2.Environment:
        dirs = [*self.template_dirs, *([template_dir] if template_dir else [])]
        loader = jinja2.ChoiceLoader([*(jinja2.FileSystemLoader(str(d)) for d in dirs), self._channel_loader])
        options: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.ChainableUndefined,
            "keep_trailing_newline": False,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "auto_reload": False,
            "cache_size": 400,
        }
        if kind == "json":
            options["finalize"] = to_json
        else:
            options["finalize"] = _human  # NaN/±Infinity read "NaN"/"Infinity"/"-Infinity", as in JSON
            options["autoescape"] = kind == "html"
        env = jinja2.Environment(**options)
        if kind == "json":
            # What a template writes is JSON text already: a block it renders ({{ super() }},
            # {{ self.fields() }}), a macro, caller() or {% set %}…{% endset %} is inserted as written, not
            # encoded again as one JSON string; only values ({{ title }}) are encoded.
            env.concat = _concat_json  # type: ignore[method-assign]
        env.filters.update(
            json=to_json,
            tojson=to_json,
            duration=format_duration,
            filesize=format_size,
            datetime=format_time,
            truncate_text=truncate,
            oneline=lambda s: " ".join(str(s).split()),
            digest_fit=digest_fit,
        )
        env.filters.update(self.registry.template_filters())
        return env

    # -- lookup and rendering --------------------------------------------------------------------
    @staticmethod
    def candidates(prefix: str, event_type: str, part: str) -> list[str]:
        """``["discord/job_failed.json.j2", "discord/default.json.j2"]``."""
        return [f"{prefix}/{event_type}.{part}.j2", f"{prefix}/default.{part}.j2"]

    def render(
        self,
        event: Event,
        target: Target,
        part: str,
        *,
        prefix: str | None = None,
        name: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Render one part (``txt``, ``html``, ``subject``, ``json``, …) and return the text.

        ``prefix`` is the template folder (default: the target's channel); ``name`` picks one template
        by name instead of the lookup; ``extra`` adds to the context.
        """
        return self._render(event, target, part, prefix=prefix, name=name, extra=extra)[0]

    def _render(
        self,
        event: Event,
        target: Target,
        part: str,
        *,
        prefix: str | None = None,
        name: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """:meth:`render`'s text and the name of the template that made it."""
        kind = "json" if part == "json" else "html" if part == "html" else "text"
        env = self.environment(kind, target.template_dir)
        names = [name] if name else self.candidates(prefix or target.channel, event.type, part)
        try:
            template = env.get_template(self._choose(env, names))
        except jinja2.TemplateNotFound:
            raise TemplateError(
                f"no template for target {target.name!r} (event {event.type}): looked for {', '.join(names)}"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template {exc.name or names[0]!r} line {exc.lineno}: {exc.message} (target {target.name!r})"
            ) from None
        context = template_context(event, target)
        if event.type == DIGEST_TYPE:
            context["digest"] = digest_view(event)
        if extra:
            context.update(extra)
        try:
            output = template.render(context)
        except Exception as exc:
            where = _template_line(exc, template.name or names[0])
            raise TemplateError(f"{where}: {type(exc).__name__}: {exc} (target {target.name!r})") from None
        if part == "subject":
            output = " ".join(output.split())
        return output, template.name or names[0]

    def _choose(self, env: jinja2.Environment, names: list[str]) -> str:
        """The name to load: the first folder (in loader order) holding any of ``names`` decides, and
        within a folder the earlier name wins. So a deployment's ``discord/default.json.j2`` overrides
        the package's ``discord/job_failed.json.j2`` too, while a deployment's own
        ``discord/job_failed.json.j2`` beats its ``default``.
        """
        key = (id(env), tuple(names))
        chosen = self._chosen.get(key)
        if chosen is not None:
            return chosen
        assert isinstance(env.loader, jinja2.ChoiceLoader)
        for loader in env.loader.loaders:
            folders = loader.locations() if isinstance(loader, _ChannelTemplatesLoader) else [loader]
            for folder in folders:
                for candidate in names:
                    try:
                        folder.get_source(env, candidate)
                    except jinja2.TemplateNotFound:
                        continue
                    self._chosen[key] = candidate
                    return candidate
        if len(names) == 1:
            return names[0]  # a prefixed name ("discord:…"): the loader resolves it, or says it is missing
        raise jinja2.TemplateNotFound(names[0])

    def render_json(self, event: Event, target: Target, **kwargs: Any) -> Any:
        """Render the ``json`` part and parse it: the document a channel sends."""
        text, used = self._render(event, target, "json", **kwargs)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(
                f"template {used!r} rendered invalid JSON "
                f"(line {exc.lineno}, column {exc.colno}: {exc.msg}) for target {target.name!r}"
            ) from None

    def render_text(self, event: Event, target: Target, part: str = "txt", **kwargs: Any) -> str:
        """Render a plain-text part (``txt``, ``subject``, ``md``, …)."""
        return self.render(event, target, part, **kwargs)

    def render_html(self, event: Event, target: Target, **kwargs: Any) -> Markup:
        """Render the autoescaped ``html`` part."""
        return Markup(self.render(event, target, "html", **kwargs))

    def exists(self, target: Target, name: str, kind: str = "text") -> bool:
        """Whether a template called ``name`` can be found for ``target``."""
        try:
            self.environment(kind, target.template_dir).get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True


def _template_line(exc: BaseException, fallback: str) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.endswith(".j2"):
            return f"template {Path(frame.filename).name!r} ({frame.filename}) line {frame.lineno}"
    return f"template {fallback!r}"
