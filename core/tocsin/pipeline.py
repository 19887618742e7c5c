"""The stages an event walks before dispatch, each one function: prepare, then format.

``Notifier`` wires them (prepare → route (:mod:`tocsin.routing`) → format → dispatch (:mod:`tocsin.delivery`))
and keeps none of their logic. Both are pure with respect to the network: nothing here sends.
:class:`Stages` is the Notifier's face of them (``route``, ``prepare``, ``format``, ``render``, ``target``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .attachments import for_target, with_references
from .config import structure_targets
from .errors import TemplateError, TocsinError
from .events import Event
from .messages import Message
from .routing import Routes, Subscription, route
from .samples import sample_event

if TYPE_CHECKING:
    from .attachment_store import AttachmentStore
    from .config import Config, Target
    from .plugins import PluginRegistry
    from .templating import Templates

__all__ = ["Stages", "describe_error", "format_message", "prepare_event"]


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


class Stages:
    """The Notifier's stage methods (it provides ``config``, ``registry``, ``templates``, ``attachments``)."""

    config: Config
    registry: PluginRegistry
    templates: Templates
    attachments: AttachmentStore

    @property
    def targets(self) -> tuple[Target, ...]:
        """The configured (usable) targets, in config order."""
        return self.config.targets

    def target(self, name: str) -> Target:
        """The configured target called ``name`` (ConfigError with a suggestion otherwise)."""
        return self.config.target(name)

    def route(
        self,
        event: Event,
        *,
        targets: Sequence[str] | None = None,
        extra_targets: Sequence[Target | Mapping[str, Any]] = (),
        subscriptions: Sequence[Subscription] | None = None,
    ) -> Routes:
        """Where ``event`` goes and why the other targets are skipped (:func:`tocsin.routing.route`).

        ``targets`` names targets to send to regardless of their routing rules (``--target``), never a
        disabled one; ``subscriptions`` picks targets for this event, each with its own ``when``;
        ``extra_targets`` are destinations the submitter adds, with their own rules.
        """
        extra = structure_targets(extra_targets, self.registry, "extra_targets") if extra_targets else ()
        return route(
            event,
            self.config,
            targets=targets,
            extra_targets=extra,
            subscriptions=subscriptions,
            personal=lambda target: self.registry.channel(target.channel).spec.personal,
        )

    def prepare(self, event: Event) -> Event:
        """The event after ``prepare_event`` hooks, with the config's ``[source]`` filling blanks, and its
        attachments copied into the attachment store (release them with ``self.attachments.release``)."""
        return self.attachments.stage(prepare_event(event, self.config, self.registry))

    def format(self, event: Event, target: Target) -> Message:
        """The message ``target``'s channel makes of ``event`` (nothing is sent), with the event's attachments
        fitted to the channel's caps."""
        spec = self.registry.channel(target.channel).spec
        fitted = for_target(event, spec, target, self.config.settings.max_attachment_bytes)
        return with_references(format_message(fitted, target, self.registry, self.templates), fitted)

    def render(self, target: str | Target, event: Event | str) -> Message:
        """The message ``target`` would receive for ``event`` (a type name gives a sample event)."""
        if isinstance(event, str):
            event = sample_event(event)
        resolved = self.target(target) if isinstance(target, str) else target
        prepared = self.prepare(event)
        try:
            return self.format(prepared, resolved)
        finally:
            self.attachments.release(prepared.attachments)
