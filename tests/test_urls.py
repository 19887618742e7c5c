"""One-line targets: Apprise-style URLs with `tocsin send --to` and as a target's `url`, secrets kept."""

from __future__ import annotations

import base64

import pytest

from tocsin import split_url
from tocsin.testing import Reply

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
        (
            "tgram://123456789:AAH-Bot_Key/-1001234567890",
            {"channel": "telegram", "bot_token": "123456789:AAH-Bot_Key", "chat_id": -1001234567890},
        ),
        (
            "tgram://bot123456789%3AAAH-Bot_Key/@ops_alerts:42?silent=yes&preview=no",
            {
                "channel": "telegram",
                "bot_token": "123456789:AAH-Bot_Key",
                "chat_id": "@ops_alerts",
                "message_thread_id": 42,
                "disable_notification": True,
                "link_preview": False,
            },
        ),
        (
            "tgram://123456789:AAH-Bot_Key?to=ops_alerts&thread=7",
            {
                "channel": "telegram",
                "bot_token": "123456789:AAH-Bot_Key",
                "chat_id": "@ops_alerts",
                "message_thread_id": 7,
            },
        ),
        (
            "twilio://AC0123456789abcdef0123456789abcdef:Auth-Tok@15551234567/15559876543/+44 7700-900123",
            {
                "channel": "sms",
                "account_sid": "AC0123456789abcdef0123456789abcdef",
                "auth_token": "Auth-Tok",
                "from": "+15551234567",
                "to": ["+15559876543", "+447700900123"],
            },
        ),
        (
            "twilio://AC0123456789abcdef0123456789abcdef:Auth-Tok@12345?to=15559876543&apikey=SK0123456789abcdef0123456789abcdef",
            {
                "channel": "sms",
                "account_sid": "AC0123456789abcdef0123456789abcdef",
                "auth_token": "Auth-Tok",
                "from": "12345",
                "to": ["+15559876543"],
                "api_key_sid": "SK0123456789abcdef0123456789abcdef",
            },
        ),
        (
            "twilio://AC0123456789abcdef0123456789abcdef:Auth-Tok@15551234567",
            {
                "channel": "sms",
                "account_sid": "AC0123456789abcdef0123456789abcdef",
                "auth_token": "Auth-Tok",
                "from": "+15551234567",
                "to": ["+15551234567"],
            },
        ),
        (
            "gchat://AAAAbcd/Key-1/Tok-2/nightly-{run_name}",
            {
                "channel": "googlechat",
                "url": "https://chat.googleapis.com/v1/spaces/AAAAbcd/messages?key=Key-1&token=Tok-2",
                "thread_key": "nightly-{run_name}",
            },
        ),
        (
            "gotifys://push.example.org/gotify/AbCdEfGhIjKlMnO?priority=high&format=markdown",
            {
                "channel": "gotify",
                "url": "https://push.example.org/gotify",
                "token": "AbCdEfGhIjKlMnO",
                "priorities": {"failure": 8, "warning": 8, "success": 8, "info": 8},
                "markdown": True,
            },
        ),
        ("gotify://push.local:8080/Atoken", {"channel": "gotify", "url": "http://push.local:8080", "token": "Atoken"}),
    ],
)
def test_each_channel_reads_apprise_urls(url, expected):
    pytest.importorskip({"sms": "tocsin_twilio"}.get(expected["channel"], f"tocsin_{expected['channel']}"))
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
    assert sorted(line.split()[1] for line in result.stderr.splitlines()) == [
        "email",
        "ntfy",
        "webhook",
    ]  # as each finished
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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tgram://Bot-Secret-11/-100123", "tgram:// URL: expected tgram://bot_token/chat_id"),
        ("tgram://123456789:Bot-Secret-11", "tgram:// URL: name the chat"),
        ("tgram://123456789:Bot-Secret-11/-1/-2", "tgram:// URL: one chat per URL"),
        ("tgram://123456789:Bot-Secret-11/-1?image=yes", "tgram:// URL: unknown parameter 'image'"),
        (
            "twilio://AC0123:Bot-Secret-11@15551234567/w:15559876543",
            "twilio:// URL: a number to text has a mode prefix",
        ),
        ("twilio://AC0123:Bot-Secret-11@15551234567?method=call", "twilio:// URL: only method=sms is supported"),
        ("twilio://Bot-Secret-11@15551234567", "twilio:// URL: expected twilio://account_sid:auth_token@from_phone"),
        ("gchat://ws/Bot-Secret-11", "gchat:// URL: expected gchat://workspace/webhook_key/webhook_token"),
        ("gotifys://Bot-Secret-11", "gotifys:// URL: expected gotifys://host[:port][/path]/token"),
        ("gotify://host/Bot-Secret-11?priority=urgent", "gotify:// URL: priority must be low, moderate"),
    ],
)
def test_bad_urls_say_what_is_wrong_without_the_url(url, expected):
    scheme = url.split("://")[0]
    pytest.importorskip(
        {"tgram": "tocsin_telegram", "twilio": "tocsin_twilio", "gchat": "tocsin_googlechat"}.get(
            scheme, "tocsin_gotify"
        )
    )  # the core's own sdist runs this suite without any channel plugin
    with pytest.raises(ValueError) as caught:
        options(url)
    assert expected in str(caught.value) and "Bot-Secret-11" not in str(caught.value)


def bot_api_answers(request):
    """Each service's success answer, by the path its channel posts to."""
    path = request.path.split("?")[0]
    if "/bot" in path:
        return Reply(200, {"ok": True, "result": {"message_id": 1}})
    if path.endswith("/Messages.json"):
        return Reply(201, {"sid": "SM" + "0" * 32, "status": "queued", "num_segments": "1", "error_code": None})
    if path.endswith("/message"):
        return Reply(200, {"id": 25, "appid": 5, "message": "m", "title": "t", "priority": 8})
    return Reply(200, {"name": "spaces/AAAA/messages/1", "thread": {"name": "spaces/AAAA/threads/1"}})


def test_send_to_telegram_twilio_gchat_gotify_urls_against_a_local_server(tmp_path, tocsin_http_sink):
    for module in ("tocsin_telegram", "tocsin_twilio", "tocsin_googlechat", "tocsin_gotify"):
        pytest.importorskip(module)
    tocsin_http_sink.default = bot_api_answers
    api = tocsin_http_sink.url
    port = api.rsplit(":", 1)[1]
    sid = "AC0123456789abcdef0123456789abcdef"
    urls = [
        f"tgram://123456789:Tg-Key-Secret-0123456789/-100123:7?silent=yes&api_url={api}",
        f"twilio://{sid}:Twilio-Tok-Secret@15551234567/15559876543?api_url={api}",
        f"gchat://Space-Secret-1/Key-Secret-2/Tok-Secret-3/nightly?api_url={api}",
        f"gotify://127.0.0.1:{port}/sub/Gotify-Tok-Secret",
    ]
    args = [a for url in urls for a in ("--to", url)]
    result = run_cli("send", "job_failed", "-d", "run_name=nightly", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(line.split()[1] for line in result.stderr.splitlines()) == ["googlechat", "gotify", "sms", "telegram"]
    requests = {r.path.split("?")[0]: r for r in tocsin_http_sink.wait_for(4)}
    telegram = requests["/bot123456789:Tg-Key-Secret-0123456789/sendMessage"].json()
    assert (telegram["chat_id"], telegram["message_thread_id"], telegram["disable_notification"]) == (-100123, 7, True)
    sms = requests[f"/2010-04-01/Accounts/{sid}/Messages.json"]
    assert "To=%2B15559876543" in sms.text and "From=%2B15551234567" in sms.text
    assert sms.header("authorization") == "Basic " + base64.b64encode(f"{sid}:Twilio-Tok-Secret".encode()).decode()
    chat = requests["/v1/spaces/Space-Secret-1/messages"]
    assert "key=Key-Secret-2&token=Tok-Secret-3" in chat.path and chat.json()["thread"] == {"threadKey": "nightly"}
    gotify = requests["/sub/message"]
    assert gotify.header("x-gotify-key") == "Gotify-Tok-Secret" and gotify.json()["priority"] == 8
    secrets = ("Tg-Key-Secret", "Twilio-Tok-Secret", "Space-Secret-1", "Key-Secret-2", "Tok-Secret-3", "Gotify-Tok")
    assert not [s for s in secrets if s in result.stdout + result.stderr]

    # refused, each service quoting the request back: the receipts say why, never with the URL's secrets
    tocsin_http_sink.default = lambda request: Reply(401, {"ok": False, "description": f"no {request.path}"})
    result = run_cli("send", "job_failed", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("failed") >= 4
    assert not [s for s in secrets if s in result.stdout + result.stderr], result.stderr
