"""The plugin-contract checks that a channel answers only for its own targets and lets deployments go first.

The core calls ``format_message`` and ``deliver`` on the plugin that declares ``target.channel`` and on the
plugins that declare no channel (``PluginRegistry.hook_for``). So the mistakes left to a channel's author are:

* hooks on a plugin object of the distribution that declares no channel (a second module under a
  ``tocsin.plugins`` entry point, say) that answer for every target: a guard-less ``format_message``, an
  ``async def deliver`` (its coroutine is an answer even when it would do nothing), a wrapper that rewrites
  other channels' messages, or a hook that raises for them. :func:`foreign_answers` calls each such hook
  directly with a target of a channel the contract owns and reports every answer;
* hooks registered without ``trylast``, so a deployment's plain ``@hookimpl`` cannot pre-empt them;
* a ``deliver`` that returns something the core cannot await.

:class:`OwnershipChecks` runs them as tests; :class:`tocsin.testing.ChannelContract` inherits it.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import pluggy

from ..channel import Channel
from ..config import Target
from ..hookspecs import hookimpl
from ..messages import Message, Outcome
from ..plugins import PluginRegistry
from ..samples import sample_event
from ..templating import Templates
from ..transport import Transport

__all__ = ["PROBE_CHANNEL", "OwnershipChecks", "ProbeChannel", "foreign_answers"]

#: The channel the contract owns, whose targets no plugin under test may answer for.
PROBE_CHANNEL = "contract-probe"
#: The text of the message a deployment's pre-empting ``format_message`` returns.
DEPLOYMENT_MARKER = "TOCSIN-CONTRACT-DEPLOYMENT"


@attrs.frozen
class _NoOptions:
    """The probe channel takes no option."""


class ProbeChannel:
    """A channel plugin owned by the contract, recording what reached its own hooks."""

    def __init__(self) -> None:
        self.formatted: list[str] = []
        self.delivered: list[str] = []

    @hookimpl
    def tocsin_channels(self) -> list[Channel]:
        return [Channel(PROBE_CHANNEL, _NoOptions, description="The conformance suite's own channel.")]

    @hookimpl(trylast=True)
    def format_message(self, event: Any, target: Any, templates: Any) -> Message:
        self.formatted.append(target.name)
        return Message.for_event(event, target, text="probe")

    @hookimpl(trylast=True)
    async def deliver(self, message: Any, target: Any, transport: Any) -> None:
        self.delivered.append(target.name)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _owned_by(registry: PluginRegistry, plugin: Any, distribution: str) -> bool:
    """Whether ``plugin`` was registered from ``distribution`` (entry points are named ``<dist>:<name>``)."""
    name = registry.pm.get_name(plugin) or ""
    return ":" in name and _canonical(name.split(":", 1)[0]) == _canonical(distribution)


class _Passed:
    """What a wrapper is handed as the inner result; it must hand it back unchanged."""


def _call(impl: pluggy.HookImpl, kwargs: Mapping[str, Any], inner: Any) -> tuple[Any, str]:
    """Call one hookimpl as pluggy would for a firstresult hook; ``(answer, how)`` with ``answer`` None when
    it leaves the target alone."""
    args = {name: kwargs[name] for name in impl.argnames}
    if impl.wrapper or impl.hookwrapper:
        gen = impl.function(**args)
        next(gen)
        outcome = pluggy.Result(inner, None)
        result = inner
        try:
            gen.send(inner if impl.wrapper else outcome)
        except StopIteration as stop:
            result = stop.value if impl.wrapper else outcome.get_result()
        else:
            gen.close()
        return (None, "") if result is inner else (result, f"a wrapper replaced the result with {result!r}")
    answer = impl.function(**args)
    if inspect.iscoroutine(answer):
        answer.close()
        return answer, "an async def hook answers every call: its coroutine is a result even when it does nothing"
    return answer, f"it returned {type(answer).__name__}"


def foreign_answers(registry: PluginRegistry, distribution: str) -> list[str]:
    """Every ``format_message``/``deliver`` hook of ``distribution`` that answers for a target of a channel
    that is not its own (the probe channel's), each as a sentence naming the plugin and hook.
    """
    probe = ProbeChannel()
    registry.register(probe, name="tocsin-contract:probe", distribution="tocsin-contract")
    target = Target(name="foreign", channel=PROBE_CHANNEL, options=_NoOptions())
    event = sample_event("job_failed")
    message = Message.for_event(event, target, text="probe")
    transport = Transport(timeout=1.0)
    calls = {
        "format_message": ({"event": event, "target": target, "templates": Templates(registry)}, message),
        "deliver": ({"message": message, "target": target, "transport": transport}, _Passed()),
    }
    found = []
    try:
        hooks = registry.hook_for(PROBE_CHANNEL)
        for hook_name, (kwargs, inner) in calls.items():
            for impl in getattr(hooks, hook_name).get_hookimpls():
                if not _owned_by(registry, impl.plugin, distribution):
                    continue
                where = f"plugin {impl.plugin_name!r} ({distribution}), which declares no channel,"
                try:
                    answer, how = _call(impl, kwargs, inner)
                except Exception as exc:
                    found.append(f"{where} raised {type(exc).__name__} in {hook_name} for a {PROBE_CHANNEL!r} target")
                    continue
                if answer is not None:
                    found.append(f"{where} answered {hook_name} for a {PROBE_CHANNEL!r} target: {how}")
    finally:
        asyncio.run(transport.aclose())
    return found


class OwnershipChecks:
    """Tests mixed into :class:`~tocsin.testing.ChannelContract`; they use its helpers and fixtures."""

    channel: ClassVar[str]
    distribution: ClassVar[str]
    entry_point: ClassVar[bool]
    http: ClassVar[bool]
    target_name: ClassVar[str]

    def test_answers_only_for_its_own_channels(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """No hook of the distribution answers for another channel's target; both targets of one event arrive."""
        if self.entry_point:
            found = foreign_answers(PluginRegistry(), self.distribution)
            assert not found, (
                "hooks for a channel belong on the plugin that declares it (tocsin_channels), which the core "
                "calls for that channel's targets only; a plugin that declares no channel sees every target "
                "and must return None for the others:\n  " + "\n  ".join(found)
            )
        probe = ProbeChannel()
        notifier = tocsin_make_notifier(
            [self.target(sink), {"name": "foreign", "channel": PROBE_CHANNEL}],
            plugins=[probe],  # type: ignore[attr-defined]
        )
        before = self.attempts_seen(sink) if self.http else None  # type: ignore[attr-defined]
        report = notifier.notify(sample_event("job_failed"))
        outcomes = {r.target: (r.outcome, r.error) for r in report.receipts}
        assert outcomes == {self.target_name: (Outcome.DELIVERED, None), "foreign": (Outcome.DELIVERED, None)}
        assert (probe.formatted, probe.delivered) == (["foreign"], ["foreign"]), (
            f"the {PROBE_CHANNEL!r} target's message or delivery was taken by another plugin"
        )
        if before is not None:
            assert self.attempts_seen(sink) - before == 1, "one event to one target made more than one request"  # type: ignore[attr-defined]

    def test_a_deployment_hook_runs_before_the_channel(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """A deployment's plain ``@hookimpl`` pre-empts the channel's hooks (registered ``trylast``)."""
        channel = self.channel

        class Deployment:
            def __init__(self) -> None:
                self.delivered: list[str] = []

            @hookimpl
            def format_message(self, event: Any, target: Any, templates: Any) -> Message | None:
                return Message.for_event(event, target, text=DEPLOYMENT_MARKER) if target.channel == channel else None

            @hookimpl
            def deliver(self, message: Any, target: Any, transport: Any) -> Any:
                if target.channel != channel:
                    return None
                self.delivered.append(message.text)
                return asyncio.sleep(0)

        deployment = Deployment()
        notifier = tocsin_make_notifier([self.target(sink)], plugins=[deployment])  # type: ignore[attr-defined]
        before = self.attempts_seen(sink) if self.http else None  # type: ignore[attr-defined]
        message = notifier.render(self.target_name, sample_event("job_failed"))
        assert message.text == DEPLOYMENT_MARKER, (
            f"channel {channel!r}'s format_message ran before a deployment's: register it @hookimpl(trylast=True)"
        )
        assert notifier.notify(sample_event("job_failed"), targets=[self.target_name]).ok
        assert deployment.delivered == [DEPLOYMENT_MARKER], (
            f"channel {channel!r}'s deliver ran before a deployment's: register it @hookimpl(trylast=True)"
        )
        if before is not None:
            assert self.attempts_seen(sink) == before, "the channel delivered although a deployment pre-empted it"  # type: ignore[attr-defined]

    def test_deliver_returns_an_awaitable(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """The channel's ``deliver`` (a plain ``def`` returning ``transport.post_json(...)``, or an ``async def``)
        returns an awaitable, and awaiting it delivers."""
        notifier = tocsin_make_notifier([self.target(sink)])  # type: ignore[attr-defined]
        target = notifier.target(self.target_name)
        registry = notifier.registry
        owner = registry.channel(self.channel).plugin
        impls = [i for i in registry.hook_for(self.channel).deliver.get_hookimpls() if i.plugin is owner]
        assert impls, f"the plugin that declares {self.channel!r} implements no deliver hook"
        message = notifier.render(target, sample_event("job_failed"))
        before = self.attempts_seen(sink) if self.http else None  # type: ignore[attr-defined]

        async def deliver_once() -> None:
            transport = Transport(timeout=10.0)
            try:
                kwargs = {"message": message, "target": target, "transport": transport}
                result = impls[0].function(**{name: kwargs[name] for name in impls[0].argnames})
                assert inspect.isawaitable(result), (
                    f"deliver returned {type(result).__name__}, not an awaitable: return transport.post_json(...) "
                    "or transport.run_sync(...), or write it as async def"
                )
                await result
            finally:
                await transport.aclose()

        asyncio.run(deliver_once())
        if before is not None:
            assert self.attempts_seen(sink) - before == 1, "awaiting deliver did not send exactly one request"  # type: ignore[attr-defined]
