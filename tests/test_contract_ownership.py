"""The conformance suite catches a plugin that answers for channels not its own, or that a deployment cannot
pre-empt; and a channel whose ``deliver`` is ``async def`` passes it. Plugins are installed through real
``.dist-info`` entry points in throwaway site folders."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tocsin import PluginRegistry
from tocsin.testing import ChannelContract
from tocsin.testing.ownership import foreign_answers

from .conftest import _dist

CHANNEL = """
import attrs
from tocsin import Channel, Message, Secret, hookimpl


@attrs.frozen
class Options:
    url: Secret = attrs.field(metadata={{"doc": "Where to POST."}})


@hookimpl
def tocsin_channels():
    return [Channel("{name}", Options, description="A test channel.")]


@hookimpl{marker}
def format_message(event, target, templates):
    return Message.for_event(event, target, body={{"title": event.title}})


@hookimpl{marker}
async def deliver(message, target, transport):
    return await transport.post_json(target.options.url, message.body)
"""

GREEDY_EXTRAS = '''
"""The mistake: the distribution's second module, registered as a hook-only plugin, with no channel guard."""
from tocsin import Message, hookimpl


@hookimpl
def format_message(event, target, templates):
    return Message.for_event(event, target, text="mine")


@hookimpl(wrapper=True, specname="format_message")
def rewrite(event, target, templates):
    message = yield
    return None if message is None else Message.for_event(event, target, text="rewritten")


@hookimpl
async def deliver(message, target, transport):
    return None
'''

POLITE_EXTRAS = '''
"""A hook-only module done right: it leaves other channels' targets alone."""
from tocsin import hookimpl


@hookimpl
def format_message(event, target, templates):
    return None


@hookimpl(wrapper=True)
def deliver(message, target, transport):
    return (yield)
'''


def make_site(root: Path, dist: str, files: dict[str, str], entry_points: str) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    _dist(root, dist, "0.1", entry_points)
    return root


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch):
    """Put a site folder on sys.path (and PYTHONPATH, for the CLI subprocesses) for one test."""

    def add(site: Path) -> None:
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv("PYTHONPATH", str(site))
        importlib.invalidate_caches()

    yield add
    for name in [m for m in sys.modules if m.startswith(("tocsin_greedy", "tocsin_polite", "tocsin_eager"))]:
        del sys.modules[name]


def test_a_hook_only_module_that_answers_for_every_channel_is_caught(tmp_path, on_path, suite_size):
    site = make_site(
        tmp_path / "site",
        "tocsin-greedy",
        {
            "tocsin_greedy.py": CHANNEL.format(name="greedy", marker="(trylast=True)"),
            "tocsin_greedy_x.py": GREEDY_EXTRAS,
        },
        "[tocsin]\ngreedy = tocsin_greedy\n[tocsin.plugins]\ngreedy-extras = tocsin_greedy_x\n",
    )
    on_path(site)
    registry = PluginRegistry()
    registry.channel("greedy")
    found = foreign_answers(registry, "tocsin-greedy")
    where = "plugin 'tocsin-greedy:greedy-extras' (tocsin-greedy), which declares no channel,"
    assert [line.split(": ", 1)[0] for line in found] == [
        f"{where} answered format_message for a 'contract-probe' target",
        f"{where} answered format_message for a 'contract-probe' target",
        f"{where} answered deliver for a 'contract-probe' target",
    ]
    assert found[2].endswith(
        "an async def hook answers every call: its coroutine is a result even when it does nothing"
    )
    assert any("a wrapper replaced the result with" in line for line in found)
    suite_size("ownership: foreign answers caught", len(found))


def test_a_polite_hook_only_module_passes(tmp_path, on_path):
    site = make_site(
        tmp_path / "site",
        "tocsin-polite",
        {
            "tocsin_polite.py": CHANNEL.format(name="polite", marker="(trylast=True)"),
            "tocsin_polite_x.py": POLITE_EXTRAS,
        },
        "[tocsin]\npolite = tocsin_polite\n[tocsin.plugins]\npolite-extras = tocsin_polite_x\n",
    )
    on_path(site)
    assert foreign_answers(PluginRegistry(), "tocsin-polite") == []


class EagerContract(ChannelContract):
    """A channel whose hooks lack ``trylast``: not collected (no ``Test`` prefix); its checks are called below."""

    channel = "eager"
    distribution = "tocsin-eager"

    def target_options(self, sink_url: Any) -> dict[str, Any]:
        return {"url": f"{sink_url}/hook"}


def test_hooks_without_trylast_are_caught(tmp_path, on_path, tocsin_make_notifier, tocsin_http_sink):
    site = make_site(
        tmp_path / "site",
        "tocsin-eager",
        {"tocsin_eager.py": CHANNEL.format(name="eager", marker="")},
        "[tocsin]\neager = tocsin_eager\n",
    )
    on_path(site)
    with pytest.raises(
        AssertionError, match=r"format_message ran before a deployment's: register it @hookimpl\(trylast"
    ):
        EagerContract().test_a_deployment_hook_runs_before_the_channel(tocsin_make_notifier, tocsin_http_sink)


ASYNC_SITE: dict[str, Path] = {}


class TestAsyncDeliverChannelContract(ChannelContract):
    """The whole suite on a channel written with ``async def deliver`` (no channel guard, as PLUGINS.md allows)."""

    channel = "asyncchan"
    distribution = "tocsin-asyncchan"

    @pytest.fixture(autouse=True)
    def _installed(self, tmp_path_factory: pytest.TempPathFactory, on_path: Any) -> None:
        if "site" not in ASYNC_SITE:
            ASYNC_SITE["site"] = make_site(
                tmp_path_factory.mktemp("asyncchan") / "site",
                "tocsin-asyncchan",
                {"tocsin_asyncchan.py": CHANNEL.format(name="asyncchan", marker="(trylast=True)")},
                "[tocsin]\nasyncchan = tocsin_asyncchan\n",
            )
        on_path(ASYNC_SITE["site"])

    def target_options(self, sink_url: Any) -> dict[str, Any]:
        return {"url": f"{sink_url}/hook"}

    def override_template(self) -> tuple[str, str]:
        pytest.skip("asyncchan renders no template")

    def test_attachment_arrives_or_is_listed(self) -> None:
        pytest.skip("asyncchan sends the title only: it has no field to list files in")

    def test_attachment_over_the_cap_is_left_out_not_failed(self) -> None:
        pytest.skip("asyncchan sends the title only: it has no field to list files in")
