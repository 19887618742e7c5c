"""One-line targets: Apprise-style URLs with `tocsin send --to` and as a target's `url`, secrets kept."""

from __future__ import annotations

import base64

import pytest

from tocsin import split_url

from .conftest import run_cli, write


def options(url: str) -> dict:
    from tocsin import PluginRegistry
    from tocsin.urls import channel_for_scheme

    info = channel_for_scheme(url.split("://")[0], PluginRegistry())
    return {"channel": info.spec.name, **info.spec.from_url(url)}


def test_split_url_decodes_parts_and_keeps_plus():
    parts = split_url("JSONS://u%40x:p%3Aw@host:8443/a/b%2Fc/?+X-Token=a%2Bb&-q=1&method=put")
    assert (parts.scheme, parts.user, parts.password, parts.host, parts.port) == ("jsons", "u@x", "p:w", "host", 8443)
    assert parts.path == ("a", "b/c")
    assert parts.query == (("+X-Token", "a+b"), ("-q", "1"), ("method", "put"))
    assert "p:w" not in repr(parts)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "discord://Tocsin@1234/tok-en?thread=987",
            {
                "channel": "discord",
                "url": "https://discord.com/api/webhooks/1234/tok-en",
                "username": "Tocsin",
                "thread_id": "987",
            },
        ),
        ("slack://T1/B2/C3", {"channel": "slack", "url": "https://hooks.slack.com/services/T1/B2/C3"}),
        (
            "slack://bot@xoxb-1-2/C0123",
            {"channel": "slack", "token": "xoxb-1-2", "channel_id": "C0123", "username": "bot"},
        ),
        ("ntfy://alerts", {"channel": "ntfy", "topic": "alerts", "url": "https://ntfy.sh"}),
        (
            "ntfys://tk_abc@ntfy.example.org/ops",
            {"channel": "ntfy", "topic": "ops", "url": "https://ntfy.example.org", "token": "tk_abc"},
        ),
        (
            "workflows://prod.westus.logic.azure.com:443/wf1/sig2",
            {
                "channel": "teams",
                "url": "https://prod.westus.logic.azure.com:443/workflows/wf1/triggers/manual/paths/"
                "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=sig2",
            },
        ),
        (
            "mailtos://me:pw@example.org/ops@example.org?smtp=smtp.example.org&name=CI",
            {
                "channel": "email",
                "host": "smtp.example.org",
                "security": "starttls",
                "from": '"CI" <me@example.org>',
                "to": ["ops@example.org"],
                "user": "me",
                "password": "pw",
            },
        ),
        (
            "mailto://relay.local?from=ci@example.org",
            {
                "channel": "email",
                "host": "relay.local",
                "security": "none",
                "from": "ci@example.org",
                "to": ["ci@example.org"],
            },
        ),
        (
            "mmosts://bot@chat.example.org/Hook-Key-1?channel=town-square",
            {
                "channel": "mattermost",
                "url": "https://chat.example.org/hooks/Hook-Key-1",
                "channel_name": "town-square",
                "username": "bot",
            },
        ),
        (
            "mmost://chat.example.org:8065/sub/k2",
            {"channel": "mattermost", "url": "http://chat.example.org:8065/sub/hooks/k2"},
        ),
        (
            "pagerduty://0123456789abcdef0123456789ABCDEF@api-key/db01/backup?group=prod",
            {
                "channel": "pagerduty",
                "routing_key": "0123456789abcdef0123456789ABCDEF",
                "source": "db01",
                "component": "backup",
                "group": "prod",
            },
        ),
    ],
)
def test_each_channel_reads_apprise_urls(url, expected):
    pytest.importorskip(f"tocsin_{expected['channel']}")
    assert options(url) == expected


def test_send_to_urls_against_local_servers(tmp_path, tocsin_http_sink, tocsin_smtp_sink):
    for module in ("tocsin_webhook", "tocsin_ntfy", "tocsin_email"):
        pytest.importorskip(module)
    port = tocsin_http_sink.url.rsplit(":", 1)[1]
    urls = [
        f"json://hook-user:Hook-Pass-42@127.0.0.1:{port}/in/x?+X-Token=Tok-Secret-77&-key=Key-Secret-88",
        f"ntfy://127.0.0.1:{port}/ops_topic",
        f"mailto://127.0.0.1:{tocsin_smtp_sink.port}/ops@example.org?from=alerts@example.org&mode=insecure",
    ]
    result = run_cli(
        "send", "job_failed", "-d", "run_name=nightly", *(a for u in urls for a in ("--to", u)), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert sorted(line.split()[1] for line in result.stderr.splitlines()) == ["email", "ntfy", "webhook"]  # as each finished
    requests = {r.path.split("?")[0]: r for r in tocsin_http_sink.wait_for(2)}
    hook = requests["/in/x"]
    assert hook.path == "/in/x?key=Key-Secret-88" and hook.header("x-token") == "Tok-Secret-77"
    assert hook.header("authorization") == "Basic " + base64.b64encode(b"hook-user:Hook-Pass-42").decode()
    assert hook.json()["type"] == "job_failed"
    assert "/ops_topic" in requests
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail.rcpt_tos == ["ops@example.org"] and mail["From"] == "alerts@example.org"
    for secret in ("Hook-Pass-42", "Tok-Secret-77", "Key-Secret-88", "ops_topic"):
        assert secret not in result.stdout + result.stderr


def test_a_url_as_a_targets_url_key_and_errors_that_keep_it_secret(tmp_path, tocsin_http_sink):
    pytest.importorskip("tocsin_webhook")
    port = tocsin_http_sink.url.rsplit(":", 1)[1]
    write(
        tmp_path / "tocsin.toml",
        f"""
        [[targets]]
        name = "hook"
        url = "json://127.0.0.1:{port}/from-config"
        method = "PUT"
        """,
    )
    result = run_cli("send", "job_completed", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    recorded = tocsin_http_sink.wait_for(1)[0]
    assert (recorded.method, recorded.path) == ("PUT", "/from-config")

    write(
        tmp_path / "bad.toml",
        """
        [[targets]]
        name = "chat"
        url = "discord://Only-Id-Secret-55"

        [[targets]]
        name = "wrong"
        channel = "slack"
        url = "json://host/Path-Secret-66"
        """,
    )
    result = run_cli("check", "-c", "bad.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "targets[0].url: discord:// URL: expected discord://webhook_id/webhook_token" in result.stderr
    assert "targets[1].url: a json:// URL is for channel 'webhook', not 'slack'" in result.stderr
    assert "Only-Id-Secret-55" not in result.stderr and "Path-Secret-66" not in result.stderr
    result = run_cli("send", "job_failed", "--to", "fax://Fax-Secret-99@x", cwd=tmp_path)
    assert result.returncode == 2 and "no installed channel reads fax:// URLs" in result.stderr
    assert "Fax-Secret-99" not in result.stderr
    result = run_cli("send", "job_failed", "--to", "https://example.org/hook", cwd=tmp_path)
    assert (
        result.returncode == 2 and "an http(s) URL names no channel: write a JSON webhook as jsons://" in result.stderr
    )
