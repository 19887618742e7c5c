"""The stages an event walks before dispatch, each one function: prepare, then format.

``Notifier`` wires them (prepare → route (:mod:`tocsin.routing`) → format → dispatch (:mod:`tocsin.delivery`))
and keeps none of their logic. Both are pure with respect to the network: nothing here sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from .errors import TemplateError, TocsinError
from .events import Event
from .messages import Message

if TYPE_CHECKING:
    from .config import Config, Target
    from .plugins import PluginRegistry
    from .templating import Templates

__all__ = ["describe_error", "format_message", "prepare_event"]


def prepare_event(event: Event, config: Config, registry: PluginRegistry) -> Event:
    """The event with the config's ``[source]`` filling its blanks, then after every ``prepare_event`` hook
    (in pluggy's call order, each seeing the previous one's event)."""
    if config.source is not None:
        merged = {
            field.name: getattr(event.source, field.name) or getattr(config.source, field.name)
            for field in attrs.fields(type(event.source))
        }
        event = attrs.evolve(event, source=type(event.source)(**merged))
    for impl in reversed(registry.pm.hook.prepare_event.get_hookimpls()):  # pluggy's call order
        args = {"event": event, "config": config}  # an impl may take a subset, as with any hook
        result = impl.function(**{name: args[name] for name in impl.argnames})
        if result is not None:
            event = result
    return event


def format_message(event: Event, target: Target, registry: PluginRegistry, templates: Templates) -> Message:
    """The message ``target``'s channel makes of ``event``, through ``registry.hook_for(target.channel)``."""
    hooks = registry.hook_for(target.channel)
    message = hooks.format_message(event=event, target=target, templates=templates)
    if message is None:
        raise TemplateError(f"no installed plugin formats channel {target.channel!r} (target {target.name!r})")
    return message


def describe_error(exc: BaseException) -> str:
    """An exception as a receipt shows it: tocsin's own errors by message, others with their type."""
    if isinstance(exc, TocsinError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
