"""Every hook tocsin calls, in one place. A plugin implements the ones it needs with ``@hookimpl``.

Order of calls for one event (see ``Notifier.submit``):

1. ``prepare_event(event, config)`` — each plugin may return a replacement event (enrichment).
2. For each target the event is routed to: ``format_message(event, target, templates)`` → Message.
3. For each message: ``deliver(message, target, transport)`` → awaitable, once per attempt, in the
   notifier's dispatcher thread (possibly later, after a restart, or in ``tocsin worker``).
4. ``delivery_finished(event, message, receipt)`` — once per final outcome of each target.

``register_commands(cli)`` is called once by the ``tocsin`` command line, so a plugin can add commands.

``format_message`` and ``deliver`` are *firstresult* and are called per channel: the core calls them on
the plugin that owns ``target.channel`` plus the plugins that own no channel (a deployment's tweaks), never
on other channel plugins (``PluginRegistry.hook_for``). Channel plugins register them ``trylast``, so a
deployment's plain ``@hookimpl`` runs first and can pre-empt them; the first non-None answer wins. A
deployment changes one channel's messages without forking it with ``@hookimpl(tryfirst=True)`` (pre-empt) or
``@hookimpl(wrapper=True)`` (post-process what the channel produced). The core never fans one hook
call out over several targets, so one target's failure cannot stop another's.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .channel import Channel
    from .config import Config, Target
    from .events import Event
    from .messages import Message, Receipt
    from .templating import Templates
    from .transport import Transport

__all__ = ["hookimpl", "hookspec"]

PROJECT = "tocsin"
hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate a plugin's hook functions with this: ``@tocsin.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def tocsin_channels() -> list[Channel]:
    """The channels this plugin provides.

    Called once per plugin when it is loaded. Return a list of :class:`tocsin.Channel` (name, options
    class, templates folder, description, Jinja filters). A channel name must be unique across
    installed plugins; a clash is an error naming both distributions.
    """


@hookspec
def prepare_event(event: Event, config: Config) -> Event | None:
    """Enrich or rewrite an event before it is routed (add a run URL, fill ``source``, …).

    Called once per event, for every plugin, in pluggy's call order (``tryfirst`` first, ``trylast``
    last); each sees the event the previous one returned. Return a new :class:`tocsin.Event` (events
    are frozen: use ``attrs.evolve``) or ``None`` to leave it as it is. An exception here fails the
    whole event: keep it simple.
    """


@hookspec(firstresult=True)
def format_message(event: Event, target: Target, templates: Templates) -> Message | None:
    """Turn ``event`` into the :class:`tocsin.Message` ``target`` will receive, or ``None``.

    Called once per (event, target), when the event is accepted, on the plugin that owns
    ``target.channel`` (and on hook-only plugins, which return ``None`` for channels they leave alone).
    Use ``templates`` to render the channel's Jinja templates (``templates.render_json(event, target)``
    and friends) so deployments can override them by file name. Raise :class:`tocsin.TemplateError`
    (or let the template's own error propagate) when the message cannot be built; the target is
    reported failed and the others go on.

    ``firstresult``: the first non-None answer wins, so ``@hookimpl(tryfirst=True)`` pre-empts a
    channel and ``@hookimpl(wrapper=True)`` can post-process its message (``message = yield``).
    """


@hookspec(firstresult=True)
def deliver(message: Message, target: Target, transport: Transport) -> Awaitable[Any] | None:
    """Send ``message`` to ``target``: return an awaitable (a plain ``def`` returning one, or an ``async def``).

    Called, like ``format_message``, only on the plugin that owns ``target.channel`` and on hook-only
    plugins (which return ``None`` to leave a delivery alone).

    Called once per attempt (so signatures and timestamps are fresh on each retry). Write it as a plain
    ``def`` returning ``transport.post_json(...)`` (HTTP) or ``transport.run_sync(fn, ...)`` (blocking
    code such as smtplib); the core awaits it under the target's timeout. The awaitable may resolve to
    anything; a ``status_code`` attribute on the result is recorded in the receipt.

    Raise :class:`tocsin.RetryableError` (with ``retry_after`` if known) for faults that may pass and
    :class:`tocsin.PermanentError` for ones that will not; ``transport.post_json`` already does so for
    HTTP answers. Read secrets from ``target.options`` with ``.reveal()`` here, and nowhere else.
    """


@hookspec
def delivery_finished(event: Event, message: Message | None, receipt: Receipt) -> None:
    """Observe a delivery's final outcome (metrics, audit logs). Return value ignored.

    Called once per (event, target) final outcome: delivered, or failed for good (permanent error,
    retries or the retry schedule spent), and also when the message could not be formatted (``message``
    None). Not for skipped targets, nor for what a memory notifier drops when it closes, and not
    when a durable outbox parks a delivery for a later attempt: the hook fires when that attempt ends
    it, in whichever process makes it (a notifier that resumed the store, or ``tocsin worker``), with
    the event read back from the outbox. Runs in the dispatcher's thread: keep it quick. Exceptions
    are logged and swallowed.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``tocsin`` command line: ``cli`` is its ``click.Group``.

    Called once per CLI run, when a command is not a built-in one (or ``tocsin --help`` lists them all)::

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def inbox():
                "Show what the local inbox received."

    An exception here is reported as a warning; the built-in commands keep working.
    """
