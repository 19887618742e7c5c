"""Options: smtp_url or discrete host/port/security, defaults, and config errors that name the key."""

from __future__ import annotations

from typing import Any

import pytest
from tocsin_email.options import parse_smtp_url, server_of

from tocsin import ConfigError

BASE = {"name": "mail", "channel": "email", "from": "alerts@example.org", "to": "ops@example.org"}


def problems(tocsin_make_notifier: Any, **options: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{**BASE, **options}])
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user", "password"),
    [
        ("smtp://mail.example.org", "mail.example.org", 25, "none", None, None),
        ("smtp://relay:2525", "relay", 2525, "none", None, None),
        ("smtp://u:p@smtp.example.org:587?tls=required", "smtp.example.org", 587, "starttls", "u", "p"),
        ("smtp://u:p@smtp.example.org?tls=starttls", "smtp.example.org", 587, "starttls", "u", "p"),
        ("smtps://u:p@smtp.gmail.com", "smtp.gmail.com", 465, "ssl", "u", "p"),
        ("smtp://u:p@smtp.example.org?tls=opportunistic", "smtp.example.org", 587, "opportunistic", "u", "p"),
        ("smtps://u:p@smtp.example.org/?tls=opportunistic", "smtp.example.org", 465, "ssl", "u", "p"),
        ("SMTPS://me%40example.org:p%40ss%3Aw%2Frd%25@[::1]:4650", "::1", 4650, "ssl", "me@example.org", "p@ss:w/rd%"),
    ],
)
def test_smtp_url_forms(url, host, port, security, user, password):
    server = parse_smtp_url(url)
    assert (server.host, server.port, server.security, server.user) == (host, port, security, user)
    assert (server.password.reveal() if server.password else None) == password


def test_smtp_url_ehlo_name_in_the_path():
    assert parse_smtp_url("smtp://relay/client.example.org").ehlo_name == "client.example.org"
    assert parse_smtp_url("smtp://relay:25/").ehlo_name is None
    with pytest.raises(ValueError, match="only /<EHLO name>"):
        parse_smtp_url("smtp://relay/not a name")


def test_a_parsed_server_never_shows_its_password():
    server = parse_smtp_url("smtps://user:Secret-Pw-123@smtp.example.org")
    assert "Secret-Pw-123" not in repr(server) + str(server) + server.label + server.key()


def test_discrete_options_and_default_ports(tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [
            {**BASE, "name": "a", "host": "smtp.example.org"},
            {**BASE, "name": "b", "host": "smtp.example.org", "security": "ssl"},
            {**BASE, "name": "c", "host": "relay", "security": "none"},
            {**BASE, "name": "d", "host": "relay", "security": "none", "port": 2525, "user": "u", "password": "pw"},
        ]
    )
    servers = {t.name: server_of(t.options) for t in notifier.targets}
    assert [(s.port, s.security) for s in servers.values()] == [
        (587, "starttls"),
        (465, "ssl"),
        (25, "none"),
        (2525, "none"),
    ]
    assert servers["d"].user == "u" and servers["d"].password.reveal() == "pw"
    assert servers["a"].key() != servers["d"].key()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "targets[0].host: required (or give smtp_url)"),
        (
            {"host": "h", "smtp_url": "smtp://h"},
            "targets[0].smtp_url: give the server as smtp_url or as host, not both",
        ),
        ({"smtp_url": "https://user:pw@h"}, "targets[0].smtp_url: must start with smtp:// or smtps://"),
        ({"smtp_url": "smtp://h:99999"}, "targets[0].smtp_url: not a valid URL"),
        (
            {"smtp_url": "smtp://h?tls=maybe"},
            "targets[0].smtp_url: smtp:// takes tls = 'none', 'no', 'off', 'required'",
        ),
        ({"smtp_url": "smtp://h?ssl=1"}, "targets[0].smtp_url: unknown query parameter 'ssl'"),
        ({"smtp_url": "smtp://u@h"}, "targets[0].smtp_url: give both user and password"),
        ({"host": "h", "user": "u"}, "targets[0].password: required when user is set"),
        ({"host": "h", "password": "p"}, "targets[0].user: required when password is set"),
        ({"host": "h", "port": 0}, "targets[0].port: must be from 1 to 65535"),
        ({"host": "h", "security": "tls"}, "targets[0].security: must be one of 'none', 'ssl', 'starttls'"),
        ({"host": "h", "from": "nobody"}, "targets[0].from: 'nobody' is not an email address"),
        ({"host": "h", "to": ["ok@example.org", "a@b\nBcc: c@d"]}, "targets[0].to: an address may not contain"),
        ({"host": "h", "event_recipients": "some"}, "targets[0].event_recipients: must be one of"),
        ({"host": "h", "subject_prefix": "[a]\r\nBcc: x@y"}, "targets[0].subject_prefix: may not contain line breaks"),
        ({"host": "h", "ca_file": "/no/such/ca.pem"}, "targets[0].ca_file: no such file: /no/such/ca.pem"),
        ({"host": "h", "sender": "x@y"}, "targets[0].sender: unknown key"),
    ],
)
def test_config_errors_name_the_key(options, expected, tocsin_make_notifier):
    text = problems(tocsin_make_notifier, **options)
    assert f"tocsin.toml: {expected}" in text


def test_a_bad_smtp_url_is_never_repeated(tocsin_make_notifier):
    secret = "Hunter2-Secret-Value"
    for url in (f"https://u:{secret}@h", f"smtp://u:{secret}@h:70000", f"smtp://u:{secret}@h/no%20name"):
        text = problems(tocsin_make_notifier, smtp_url=url)
        assert "targets[0].smtp_url:" in text and secret not in text


def test_from_is_the_config_key_of_the_sender(tocsin_make_notifier):
    without = {k: v for k, v in BASE.items() if k != "from"}
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{**without, "host": "h"}])
    assert any(p.endswith("targets[0].from: required") for p in caught.value.problems)
