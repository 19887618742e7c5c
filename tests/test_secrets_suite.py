"""The secrets suite: no part of any secret of any installed channel leaves the process.

Every channel the registry finds (entry points and built-ins, so channels installed later too) is
configured by its own ``Channel.test_options`` with a unique marker in every Secret option, and, for URL
secrets, once more with ``user:<marker>@`` userinfo. Servers on 127.0.0.1 then quote back what they
received, the way real ones do: the bare token of an ``Authorization`` header in a 401, one path segment
in a 404, the query in a 500, the request headers, the body, a 301 whose ``Location`` is the secret URL,
an SMTP server that refuses the login or quotes the credentials. Every way text leaves the process is
then searched for the marker and for the base64 of any ``user:password`` pair: the receipt, its summary,
the JSON report, every log record of every logger at DEBUG (httpx, httpcore.http11, …), and the stdout
and stderr of ``tocsin -v send`` and ``tocsin -vv send`` in a subprocess.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs
import pytest

from tocsin import Event, LocalServers, Outcome
from tocsin.testing import HttpSink, Recorded, Reply, write_config
from tocsin.testing.cases import ChannelCase, channel_cases, iter_strings, placeholder_servers, secret_option_keys

pytest.importorskip("aiosmtpd")
from tocsin.testing.smtp import SmtpSink

CASES = channel_cases()
RAN: list[str] = []
FAST = {"timeout": 5.0, "max_retries": 0, "retry_backoff": 0.01, "retry_backoff_max": 0.02, "retry_deadline": 20.0}


# -- servers that quote back what they received --------------------------------------------------------
def _credentials(record: Recorded) -> list[str]:
    """The credential of every ``<scheme> <credential>`` header value, and every other header's value."""
    found = []
    for name, value in record.headers.items():
        if name in ("host", "content-length", "content-type", "user-agent", "accept", "accept-encoding"):
            continue
        scheme, _, credential = value.partition(" ")
        found.append(credential if credential and scheme.isalpha() else value)
    return found


def _split(record: Recorded) -> tuple[str, str]:
    parts = urlsplit(record.path)
    return parts.path, parts.query


ECHOES: dict[str, Callable[[Recorded, str], Reply]] = {
    "token": lambda r, base: Reply(401, "; ".join(f"invalid token {c}" for c in _credentials(r)) or "unauthorized"),
    "segments": lambda r, base: Reply(
        404, "; ".join(f"webhook {unquote(s)} is not registered" for s in _split(r)[0].split("/") if s) or "none"
    ),
    "query": lambda r, base: Reply(
        500, " ".join([f"bad query {_split(r)[1]}", *(f"{k}={v}" for k, v in parse_qsl(_split(r)[1]))])
    ),
    "location": lambda r, base: Reply(301, f"moved to {base}{r.path}", headers={"Location": f"{base}{r.path}"}),
    "headers": lambda r, base: Reply(403, {"message": "; ".join(f"{k}: {v}" for k, v in r.headers.items())}),
    "body": lambda r, base: Reply(400, {"message": f"bad payload {r.body[:240].decode('utf-8', 'replace')}"}),
}
SMTP_ECHOES = ("smtp_login_refused", "smtp_quotes_credentials")


@attrs.define
class Servers:
    http: HttpSink
    smtp: SmtpSink  # accepts AUTH as tocsin/<marker>
    smtp_refusing: SmtpSink  # refuses it (another password)
    marker: str

    def local(self, *, refusing: bool = False) -> LocalServers:
        sink = self.smtp_refusing if refusing else self.smtp
        return LocalServers(http_url=self.http.url, smtp_port=sink.port, secret=self.marker)


@pytest.fixture
def servers() -> Iterator[Servers]:
    marker = f"Mk{uuid.uuid4().hex[:12]}z9"
    with (
        HttpSink() as http,
        SmtpSink(user="tocsin", password=marker) as smtp,
        SmtpSink(user="tocsin", password="not-the-password-0") as refusing,
    ):
        yield Servers(http, smtp, refusing, marker)


# -- options with the marker in every secret -----------------------------------------------------------
def _with_userinfo(options: dict[str, Any], secret_keys: set[str], marker: str) -> dict[str, Any] | None:
    """The options with ``tocsin:<marker>u@`` in every http(s) URL secret; None when there is none."""
    changed = False
    result = dict(options)
    for key in secret_keys:
        value = result.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            scheme, rest = value.split("://", 1)
            result[key] = f"{scheme}://tocsin:{marker}u@{rest}"
            changed = True
    return result if changed else None


def _params() -> list[Any]:
    params = []
    for case in CASES:
        ids = [(case, False)]
        if not case.problem:
            keys = secret_option_keys(case.channel)
            if not keys:
                continue  # a channel without secrets (the console) has nothing to leak
            options = case.options(placeholder_servers())
            if _with_userinfo(options, keys, "x") is not None:
                ids.append((case, True))
        params.extend(pytest.param(c, u, id=f"{c.id}{'-userinfo' if u else ''}") for c, u in ids)
    return params


PARAMS = _params()


def options_for(case: ChannelCase, local: LocalServers, userinfo: bool) -> dict[str, Any]:
    options = case.options(local)
    keys = secret_option_keys(case.channel)
    for key in keys & set(options):
        strings = list(iter_strings(options[key]))
        assert strings and all(local.secret in s or local.secret in _basic_decoded(s) for s in strings), (
            f"channel {case.channel!r}: test_options must put servers.secret in the secret option {key!r}"
        )
    if userinfo:
        options = _with_userinfo(options, keys, local.secret) or options
    return options


def _basic_decoded(value: str) -> str:
    scheme, _, credential = value.partition(" ")
    if scheme.lower() != "basic":
        return ""
    return base64.b64decode(credential).decode("utf-8", "replace")


def needles(options: dict[str, Any], marker: str) -> list[str]:
    """What must never be seen: the marker, and the base64 of any user:password it is part of."""
    found = [marker]
    for text in iter_strings(options):
        if "://" in text:
            parts = urlsplit(text)
            if parts.password:
                pair = f"{unquote(parts.username or '')}:{unquote(parts.password)}"
                found.append(base64.b64encode(pair.encode()).decode())
        scheme, _, credential = text.partition(" ")
        if scheme.lower() == "basic" and credential:
            found.append(credential)
    return found


def assert_clean(where: str, text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"{where} shows a secret part {secret!r}:\n{text[:3000]}"


# -- the suite ------------------------------------------------------------------------------------------
def test_every_channel_declares_how_to_test_it() -> None:
    """Each installed channel has test_options, and together they give every Secret option a value."""
    problems = [case.problem for case in CASES if case.problem]
    assert not problems, "\n".join(problems)
    for channel in {case.channel for case in CASES}:
        given: set[str] = set()
        for case in (c for c in CASES if c.channel == channel):
            given |= set(case.options(placeholder_servers()))
        missing = secret_option_keys(channel) - given
        assert not missing, f"channel {channel!r}: no test_options variant sets the secret options {sorted(missing)}"
    RAN.append("declarations")


@pytest.mark.parametrize(("case", "userinfo"), PARAMS)
def test_no_secret_part_leaves_the_process(
    case: ChannelCase,
    userinfo: bool,
    servers: Servers,
    tocsin_make_notifier: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for kind in [*ECHOES, *SMTP_ECHOES]:
        local = servers.local(refusing=kind == "smtp_login_refused")
        options = options_for(case, local, userinfo)
        secrets = needles(options, servers.marker)
        seen_before = len(servers.http.requests) + len(servers.smtp.messages) + servers.smtp.transactions
        if kind in ECHOES:
            servers.http.reply(lambda record, kind=kind: ECHOES[kind](record, servers.http.url))
        elif kind == "smtp_quotes_credentials":
            servers.smtp.reply(f"554 5.7.1 message from tocsin:{servers.marker} refused")
        notifier = tocsin_make_notifier(
            [{"name": "leak", "channel": case.channel, **options}], notifications=FAST, path=None
        )
        event = Event("job_failed", data={"run_name": "nightly", "error": "disk full"})
        report = notifier.notify(event, targets=["leak"])
        receipt = report["leak"]
        servers.http._script.clear()
        servers.smtp._script.clear()
        reached = len(servers.http.requests) + len(servers.smtp.messages) + servers.smtp.transactions > seen_before
        if kind in ECHOES and servers.http.requests and reached and kind != "smtp_login_refused":
            assert receipt.outcome is Outcome.FAILED, f"{case.id} {kind}: the echoing server's answer was a success"
        for where, text in (
            ("the receipt's error", receipt.error or ""),
            ("the receipt's summary", receipt.summary()),
            ("the JSON report", json.dumps(report.to_dict(), ensure_ascii=False)),
            ("repr(report)", repr(report)),
            ("repr(target)", repr(notifier.target("leak"))),
        ):
            assert_clean(f"{case.id} {kind}: {where}", text, secrets)
        RAN.append(f"{case.id}:{kind}")
    secrets = needles(options_for(case, servers.local(), userinfo), servers.marker)
    assert_clean(f"{case.id}: the logs (caplog, DEBUG, every logger)", caplog.text, secrets)
    for record in caplog.records:
        assert_clean(f"{case.id}: log record {record.name}", record.getMessage() + (record.exc_text or ""), secrets)


CLI_RUNS = (
    ("-vv", ["query", "headers", "token", "body", "segments"]),
    ("-v", ["token", "location"]),
)


@pytest.mark.parametrize(("case", "userinfo"), PARAMS)
def test_no_secret_part_in_cli_output(case: ChannelCase, userinfo: bool, servers: Servers, tmp_path: Path) -> None:
    """``tocsin -v`` / ``-vv send`` in a subprocess: stdout and stderr, with retries through every echo."""
    env = {k: v for k, v in os.environ.items() if k != "TOCSIN_CONFIG"}
    for verbosity, kinds in CLI_RUNS:
        local = servers.local(refusing=verbosity == "-vv")
        options = options_for(case, local, userinfo)
        notifications = {**FAST, "max_retries": len(kinds)}
        config = write_config(
            tmp_path / f"tocsin{verbosity}.toml",
            {"notifications": notifications, "targets": [{"name": "leak", "channel": case.channel, **options}]},
        )
        statuses = [ECHOES[k] for k in kinds]
        # Retryable echoes first (their statuses are 5xx), then the permanent one that ends the run.
        servers.http.reply(
            *(lambda record, echo=echo: _retryable(echo(record, servers.http.url)) for echo in statuses[:-1])
        )
        servers.http.reply(lambda record, echo=statuses[-1]: echo(record, servers.http.url))
        if verbosity == "-v":  # SMTP: the server quotes the credentials back (for -vv it refuses the login)
            servers.smtp.reply(f"554 5.7.1 message from tocsin:{servers.marker} refused")
        result = subprocess.run(
            [sys.executable, "-m", "tocsin", verbosity, "send", "job_failed", "-c", str(config), "--json-report", "-"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        servers.http._script.clear()
        servers.smtp._script.clear()
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 1, f"the send did not fail as the echoing server made it: {result.stderr}"
        assert json.loads(result.stdout)["receipts"][0]["outcome"] == "failed"
        secrets = needles(options, servers.marker)
        assert_clean(f"{case.id}: tocsin {verbosity} send stdout", result.stdout, secrets)
        assert_clean(f"{case.id}: tocsin {verbosity} send stderr", result.stderr, secrets)
        RAN.append(f"{case.id}:cli{verbosity}")


def _retryable(reply: Reply) -> Reply:
    """The same echo as a 5xx answer, so the run goes on to the next one."""
    status = reply.status if reply.status >= 500 else 503
    return attrs.evolve(reply, status=status)


# -- the rule for parts, as documented in tocsin.secrets --------------------------------------------------
PART_RULE = [
    # (secret, text a server or library might print, what must be gone, what must stay readable)
    (
        "https://discord.com/api/webhooks/123456789012345678/AbC-tok_en",
        "webhook AbC-tok_en unknown",
        "AbC-tok_en",
        "webhook",
    ),
    ("https://hooks.example.org/services/T0ABCDEF/B0ABCDEF/xyzzy123", "team T0ABCDEF", "T0ABCDEF", "team"),
    ("https://h.example.org/api/webhooks/x?token=q1w2e3r4", "token=q1w2e3r4", "q1w2e3r4", "token="),
    ("https://h.example.org?token=q1w2e3r4t5", "bad token q1w2e3r4t5", "q1w2e3r4t5", "bad token"),
    ("http://alice:pa55word@h.example.org/x", "login alice:pa55word", "pa55word", "login"),
    ("http://alice:pa55word@h.example.org/x", "Basic YWxpY2U6cGE1NXdvcmQ=", "YWxpY2U6cGE1NXdvcmQ=", "Basic"),
    ("Bearer tok-1234567", "invalid token tok-1234567", "tok-1234567", "invalid token"),
    ("Basic YWxpY2U6cGE1NXdvcmQ=", "user alice password pa55word", "pa55word", "user alice"),
    (
        "https://h.example.org/api/webhooks/notifications/x1",
        "api webhooks notifications",
        "x1y2",
        "api webhooks notifications",
    ),
]


@pytest.mark.parametrize(("secret", "text", "gone", "kept"), PART_RULE)
def test_redaction_takes_every_meaningful_part_and_spares_plain_words(
    secret: str, text: str, gone: str, kept: str
) -> None:
    from tocsin.secrets import redact

    redacted = redact(text, [secret])
    assert gone not in redacted and kept in redacted, redacted
    RAN.append(f"rule:{secret}")


def test_log_records_of_child_loggers_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """A filter on ``httpcore`` does not see ``httpcore.http11`` records; the record factory does."""
    from tocsin import Secret

    token = f"tok{uuid.uuid4().hex}"
    Secret(f"https://example.org/hooks/{token}")
    caplog.set_level(logging.DEBUG)
    for name in ("httpcore.http11", "httpcore.connection", "httpx", "some.app.module"):
        logging.getLogger(name).debug("Location: %s", f"https://example.org/hooks/{token}?x=1")
    assert token not in caplog.text
    assert all(token not in r.getMessage() for r in caplog.records)
    RAN.append("child-loggers")


def test_zz_secrets_suite_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many cases the suite ran (the last test of the module)."""
    channels = sorted({case.channel for case in CASES})
    with capsys.disabled():
        print(f"\nsecrets suite: {len(RAN)} cases over {len(channels)} channels ({', '.join(channels)})")
    assert RAN or not PARAMS
