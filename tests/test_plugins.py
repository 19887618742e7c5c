"""Plugin discovery through real entry points, lazy loading, local plugins, and hook ordering."""

from __future__ import annotations

import sys

import pytest

from tocsin import Event, Message, PluginError, PluginRegistry, hookimpl

from .conftest import write


def test_channel_is_found_through_its_entry_point_and_loaded_lazily(testchan):
    sys.modules.pop("tocsin_testchan", None)
    registry = PluginRegistry()
    assert "tocsin_testchan" not in sys.modules  # nothing imported until a target uses it
    info = registry.channel("testchan")
    assert "tocsin_testchan" in sys.modules
    assert (info.distribution, info.version) == ("tocsin-testchan", "1.2.3")
    assert info.spec.description == "A test channel."
    # the broken plugin was never imported: using testchan does not need it
    assert "tocsin_broken" not in sys.modules


def test_a_broken_plugin_is_reported_by_name(testchan):
    registry = PluginRegistry()
    with pytest.raises(
        PluginError, match=r'error importing plugin "broken" \(tocsin-broken\): ImportError: this plugin is broken'
    ):
        registry.channel("broken")
    with pytest.raises(PluginError, match="broken on purpose"):
        PluginRegistry().load_all()
    assert "testchan" in PluginRegistry().load_all(strict=False)


def test_allow_list_env_var_is_the_escape_hatch(testchan, monkeypatch):
    monkeypatch.setenv("TOCSIN_LOAD_PLUGINS", "")
    held_back = r"channel 'testchan' is installed \(tocsin-testchan\) but not loaded: TOCSIN_LOAD_PLUGINS='' does not"
    with pytest.raises(PluginError, match=held_back):
        PluginRegistry().channel("testchan")
    monkeypatch.setenv("TOCSIN_LOAD_PLUGINS", "tocsin-testchan")
    assert set(PluginRegistry().load_all()) == {"console", "testchan"}


def test_misspelled_hook_is_an_error():
    class Typo:
        @hookimpl
        def format_mesage(self, event, target, templates):  # misspelled on purpose
            return None

    with pytest.raises(PluginError, match="format_mesage"):
        PluginRegistry(load_entrypoints=False, plugins=[Typo()])


def test_two_plugins_cannot_claim_one_channel():
    from tocsin import Channel

    class Dup:
        @hookimpl
        def tocsin_channels(self):
            return [Channel("console")]

    with pytest.raises(PluginError, match="channel 'console' is provided twice"):
        PluginRegistry(load_entrypoints=False, plugins=[Dup()])


def test_local_plugin_file_named_in_config(tmp_path, tocsin_make_notifier):
    write(
        tmp_path / "tweaks.py",
        """
        from tocsin import hookimpl
        import attrs

        @hookimpl
        def prepare_event(event, config):
            return attrs.evolve(event, data={**event.data, "enriched": "yes"})
        """,
    )
    notifier = tocsin_make_notifier(
        [{"name": "console", "channel": "console", "format": "json"}],
        notifications={"plugins": ["tweaks.py"]},
    )
    message = notifier.render("console", Event("job_failed"))
    assert message.body["data"]["enriched"] == "yes"


def test_a_broken_local_plugin_names_its_config_key(tmp_path, tocsin_make_notifier):
    from tocsin import ConfigError

    with pytest.raises(ConfigError, match=r"notifications\.plugins\[0\]: error importing plugin \"no_such_module_x\""):
        tocsin_make_notifier([], notifications={"plugins": ["no_such_module_x"]})


def test_deployment_wrapper_changes_one_channels_messages_without_forking(
    testchan, tocsin_http_sink, tocsin_make_notifier
):
    """A deployment post-processes testchan's messages (wrapper) and pre-empts console's (tryfirst)."""

    class Deployment:
        @hookimpl(wrapper=True)
        def format_message(self, event, target, templates):
            message = yield
            if target.channel != "testchan":
                return message
            import attrs

            return attrs.evolve(message, body={**message.body, "title": "[PROD] " + message.body["title"]})

    class ConsoleOverride:
        @hookimpl(tryfirst=True)
        def format_message(self, event, target, templates):
            if target.channel != "console":
                return None
            return Message.for_event(event, target, text=f"custom: {event.title}")

    notifier = tocsin_make_notifier(
        [
            {"name": "hook", "channel": "testchan", "url": tocsin_http_sink.url},
            {"name": "term", "channel": "console"},
        ],
        plugins=[Deployment(), ConsoleOverride()],
    )
    event = Event("job_failed", data={"run_name": "nightly"})
    assert notifier.render("term", event).text == "custom: Job failed: nightly"
    report = notifier.notify(event, targets=["hook"])
    assert report.ok
    assert tocsin_http_sink.last.json()["title"] == "[PROD] ❌ Job failed: nightly"


class GreedyChannel:
    """A channel plugin written carelessly: no channel guard, and an ``async def`` deliver."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    @hookimpl
    def tocsin_channels(self):
        import attrs

        from tocsin import Channel

        @attrs.frozen
        class NoOptions:
            pass

        return [Channel("greedy", NoOptions, description="Answers for every channel if it can.")]

    @hookimpl
    def format_message(self, event, target, templates):
        return Message.for_event(event, target, text="greedy")

    @hookimpl
    async def deliver(self, message, target, transport):
        self.delivered.append(target.name)


def test_a_plugin_answers_only_for_its_own_channel(testchan, tocsin_http_sink, tocsin_make_notifier):
    """Dispatch by ownership: a guard-less, async plugin cannot capture testchan's or console's targets."""
    greedy = GreedyChannel()
    notifier = tocsin_make_notifier(
        [
            {"name": "hook", "channel": "testchan", "url": tocsin_http_sink.url},
            {"name": "mine", "channel": "greedy"},
        ],
        plugins=[greedy],
    )
    report = notifier.notify(Event("job_failed", data={"run_name": "nightly"}))
    assert [r.outcome.value for r in report.receipts] == ["delivered", "delivered"]
    assert greedy.delivered == ["mine"]  # its async deliver ran for its own target only
    assert len(tocsin_http_sink.requests) == 1  # testchan's request was really sent
    assert tocsin_http_sink.last.json()["title"].endswith("Job failed: nightly")


def test_plugins_add_cli_commands(tmp_path):
    """register_commands: an installed hook plugin (``tocsin.plugins`` entry point) adds a command."""
    from .conftest import _dist, run_cli

    site = tmp_path / "site"
    site.mkdir()
    (site / "tocsin_hello.py").write_text(
        "import click\nfrom tocsin import hookimpl\n\n"
        "@hookimpl\ndef register_commands(cli):\n"
        "    @cli.command()\n    def hello():\n        'Say hello.'\n        click.echo('hello from a plugin')\n",
        encoding="utf-8",
    )
    _dist(site, "tocsin-hello", "0.1", "[tocsin.plugins]\nhello = tocsin_hello\n")
    result = run_cli("hello", cwd=tmp_path, site=site)
    assert (result.returncode, result.stdout.strip()) == (0, "hello from a plugin"), result.stderr
    listed = run_cli("--help", cwd=tmp_path, site=site)
    assert "hello" in listed.stdout and "send" in listed.stdout
