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
    with pytest.raises(PluginError, match="channel 'testchan' is not installed"):
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


def test_local_plugin_file_named_in_config(tmp_path, make_notifier):
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
    notifier = make_notifier(
        [{"name": "console", "channel": "console", "format": "json"}],
        notifications={"plugins": ["tweaks.py"]},
    )
    message = notifier.render("console", Event("job_failed"))
    assert message.body["data"]["enriched"] == "yes"


def test_a_broken_local_plugin_names_its_config_key(tmp_path, make_notifier):
    from tocsin import ConfigError

    with pytest.raises(ConfigError, match=r"notifications\.plugins\[0\]: error importing plugin \"no_such_module_x\""):
        make_notifier([], notifications={"plugins": ["no_such_module_x"]})


def test_deployment_wrapper_changes_one_channels_messages_without_forking(testchan, http_sink, make_notifier):
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

    notifier = make_notifier(
        [
            {"name": "hook", "channel": "testchan", "url": http_sink.url},
            {"name": "term", "channel": "console"},
        ],
        plugins=[Deployment(), ConsoleOverride()],
    )
    event = Event("job_failed", data={"run_name": "nightly"})
    assert notifier.render("term", event).text == "custom: Job failed: nightly"
    report = notifier.notify(event, targets=["hook"])
    assert report.ok
    assert http_sink.last.json()["title"] == "[PROD] ❌ Job failed: nightly"
