"""Config files on disk: interpolation, structure, and errors that name the file and key path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tocsin import ConfigError, Notifier, PluginRegistry, Secret, Settings, Target, load_config
from tocsin.config import find_config
from tocsin.errors import PluginError
from tocsin.plugins import PUBLISHED_CHANNELS

from .conftest import write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def load(path: Path, environ: dict[str, str] | None = None):
    return load_config(path, PluginRegistry(), environ=environ or {})


def test_full_config_is_structured(tmp_path, testchan):
    path = write(
        tmp_path / "tocsin.toml",
        """
        [notifications]
        enabled = true
        max_concurrent_deliveries = 4
        template_dirs = ["notify-templates"]
        timeout = 3
        max_retries = 5

        [source]
        instance = "prod-scheduler"

        [[targets]]
        name = "team"
        channel = "testchan"
        url = "${HOOK_URL}"
        label = "${LABEL:-fallback}"
        events = ["job_*", "backup_failed"]
        when = ["failure", "warning"]
        users = "ada"
        timeout = 1.5
        max_retries = 0
        template_dir = "team-templates"
        """,
    )
    (tmp_path / "notify-templates").mkdir()
    (tmp_path / "team-templates").mkdir()
    config = load(path, {"HOOK_URL": "https://hooks.example/secret-token"})
    assert config.settings.max_concurrent_deliveries == 4
    assert config.settings.template_dirs == (tmp_path / "notify-templates",)
    assert config.settings.timeout == 3.0
    assert config.source.instance == "prod-scheduler"
    (target,) = config.targets
    assert target.options.url == Secret("https://hooks.example/secret-token")
    assert target.options.label == "fallback"
    assert target.events == ("job_*", "backup_failed")
    assert target.when == ("failure", "warning")
    assert target.users == ("ada",)
    assert (target.timeout, target.max_retries) == (1.5, 0)
    assert target.template_dir == tmp_path / "team-templates"
    assert "secret-token" not in repr(config)


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path, environ)
    return info.value.problems


def test_every_problem_is_listed_with_file_and_key_path(tmp_path, testchan):
    path = write(
        tmp_path / "tocsin.toml",
        """
        [notifications]
        max_concurent_deliveries = 4
        timeout = "soon"

        [[targets]]
        name = "ok"
        channel = "testchan"
        url = "http://127.0.0.1:9/x"

        [[targets]]
        name = "no-url"
        channel = "testchan"
        lable = "x"

        [[targets]]
        name = "bad-types"
        channel = "testchan"
        url = 42
        retries_hint = "three"
        when = ["failure", "sometimes"]

        [[targets]]
        name = "ok"
        channel = "testchan"
        url = "http://127.0.0.1:9/y"
        """,
    )
    problems = problems_of(path)
    file = str(path)
    assert (
        f"{file}: notifications.max_concurent_deliveries: unknown key (did you mean 'max_concurrent_deliveries'?)"
        in problems
    )
    assert f"{file}: notifications.timeout: expected a number, got 'soon' (a string)" in problems
    assert f"{file}: targets[1].url: required" in problems
    assert f"{file}: targets[1].lable: unknown key (did you mean 'label'?)" in problems
    assert f"{file}: targets[2].url: expected a string, got an integer" in problems
    assert f"{file}: targets[2].retries_hint: expected an integer, got 'three' (a string)" in problems
    assert any(p.startswith(f"{file}: targets[2].when:") and "'sometimes'" in p for p in problems)
    assert f"{file}: targets[3].name: duplicate target name 'ok' (also targets[0])" in problems


def test_missing_environment_variable_is_named(tmp_path, testchan):
    path = write(
        tmp_path / "tocsin.toml",
        """
        [[targets]]
        name = "team"
        channel = "testchan"
        url = "${DISCORD_WEBHOOK_URL}"
        """,
    )
    assert problems_of(path) == [f"{path}: targets[0].url: environment variable DISCORD_WEBHOOK_URL is not set"]


def test_an_unset_variable_is_reported_once_not_again_as_an_empty_value(tmp_path, testchan):
    path = write(
        tmp_path / "tocsin.toml",
        """
        [notifications]
        timeout = "${TIMEOUT}"

        [[targets]]
        name = "team"
        channel = "testchan"
        url = "${HOOK}"
        retries_hint = "x"
        """,
    )
    assert problems_of(path) == [
        f"{path}: notifications.timeout: environment variable TIMEOUT is not set",
        f"{path}: targets[0].url: environment variable HOOK is not set",
        f"{path}: targets[0].retries_hint: expected an integer, got 'x' (a string)",
    ]


def test_dollar_escape(tmp_path, testchan):
    path = write(
        tmp_path / "t.toml", '[[targets]]\nname = "t"\nchannel = "testchan"\nurl = "x"\nlabel = "$${NOT_A_VAR}"\n'
    )
    assert load(path).targets[0].options.label == "${NOT_A_VAR}"


def test_missing_channel_says_what_to_install(tmp_path, testchan):
    path = write(
        tmp_path / "tocsin.toml",
        """
        [[targets]]
        name = "console"
        channel = "console"

        [[targets]]
        name = "team-chat"
        channel = "carrierpigeon"
        """,
    )
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: targets[1] 'team-chat': no channel 'carrierpigeon' is installed (installed: ")
    assert "console" in problem and "pip install" not in problem  # never an invented package


def test_a_published_channel_not_installed_names_its_distribution():
    registry = PluginRegistry(load_entrypoints=False)
    for channel, distribution in (
        ("telegram", "tocsin-telegram"),
        ("sms", "tocsin-twilio"),
        ("slack-api", "tocsin-slack"),
    ):
        with pytest.raises(PluginError) as caught:
            registry.channel(channel)
        assert str(caught.value) == f"channel {channel!r} is not installed — pip install {distribution}"


def test_published_channels_match_the_plugins_entry_points():
    found = {}
    for pyproject in sorted((Path(__file__).parents[1] / "plugins").glob("*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        for channel in data["project"].get("entry-points", {}).get("tocsin", {}):
            found[channel] = data["project"]["name"]
    if not found:
        pytest.skip("no plugins/ folder (an sdist of the core)")
    assert found == PUBLISHED_CHANNELS


def test_a_misspelt_channel_suggests_the_installed_name(tmp_path, testchan):
    path = write(tmp_path / "tocsin.toml", '[[targets]]\nname = "t"\nchannel = "testchn"\n')
    assert problems_of(path) == [
        f"{path}: targets[0] 't': channel 'testchn' is not installed (did you mean 'testchan'?)"
    ]


def test_unknown_top_level_key_and_bad_toml(tmp_path):
    path = write(
        tmp_path / "tocsin.toml", '[notification]\nenabled = true\n[[targets]]\nname = "c"\nchannel = "console"\n'
    )
    assert problems_of(path) == [f"{path}: notification: unknown key (did you mean 'notifications'?)"]
    path = write(tmp_path / "bad.toml", "[[targets]\nname = \n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: invalid TOML:")
    assert problems_of(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: config file not found"]


def test_target_requires_name_and_channel(tmp_path):
    path = write(tmp_path / "tocsin.toml", '[[targets]]\nevents = "*"\n')
    assert problems_of(path) == [f"{path}: targets[0].name: required", f"{path}: targets[0].channel: required"]


def test_config_file_discovery(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOCSIN_CONFIG", raising=False)
    assert find_config(None) is None
    write(tmp_path / "tocsin.toml", "")
    assert find_config(None) == tmp_path / "tocsin.toml"
    monkeypatch.setenv("TOCSIN_CONFIG", str(tmp_path / "other.toml"))
    assert find_config(None) == tmp_path / "other.toml"
    assert find_config("explicit.toml") == Path("explicit.toml")


def test_python_api_is_the_same_model(testchan):
    config_targets = [Target("team", "testchan", {"url": "http://127.0.0.1:9/hook"}, events="job_*")]
    from tocsin import Config

    with Notifier(Config(settings=Settings(timeout=2), targets=config_targets)) as notifier:
        (target,) = notifier.targets
        assert type(target.options).__name__ == "Options"
        assert target.options.url.reveal() == "http://127.0.0.1:9/hook"
    with pytest.raises(ConfigError, match=r"targets\[0\]\.url: required"):
        Notifier(Config(targets=[Target("team", "testchan", {})]))


def test_settings_are_validated(tmp_path):
    path = write(tmp_path / "tocsin.toml", "[notifications]\nmax_concurrent_deliveries = 0\n")
    assert problems_of(path) == [
        f"{path}: notifications.max_concurrent_deliveries: must be at least 1, not 0",
        f"{path}: no targets: nothing would be sent; add a [[targets]] table (tocsin init writes an example)",
    ]


def test_http_backend_choices(tmp_path):
    path = write(
        tmp_path / "tocsin.toml",
        '[notifications]\nhttp_backend = "curl"\n[[targets]]\nname = "c"\nchannel = "console"\n',
    )
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: notifications.http_backend: must be one of 'httpx', 'aiohttp', not 'curl'")


def test_the_python_api_checks_what_the_file_loader_checks():
    """Settings and Target built by hand reject what a config file may not say, every problem at once."""
    with pytest.raises(ValueError) as caught:
        Target("t", "console", events=[], timeout=float("nan"), max_retries=-1)
    assert caught.value.problems == [
        'events: empty, so the target would get no event (use ["*"] for every event)',
        "timeout: must be a finite number of seconds, not nan",
        "max_retries: must be at least 0, not -1",
    ]
    with pytest.raises(ValueError, match="events\\[0\\]: 'job_\\[' is not a valid glob"):
        Target("t", "console", events="job_[")
    with pytest.raises(ValueError, match="retry_deadline: must be a finite number of seconds, not nan"):
        Settings(retry_deadline=float("nan"))


def test_python_api_reports_a_duplicate_name_even_on_a_broken_target(testchan):
    from tocsin import Config

    targets = [Target("team", "console"), {"name": "team", "channel": "testchan"}]
    with pytest.raises(ConfigError) as caught:
        Notifier(Config(targets=targets))
    assert caught.value.problems == [
        "<embedded default>: targets[1].name: duplicate target name 'team' (also targets[0])",
        "<embedded default>: targets[1].url: required",
    ]
