"""The hostile-input suite: one corpus of odd and hostile event data through every installed channel.

Channels are found through the registry (so channels installed later are in it too) and configured by
their own ``Channel.test_options`` against servers on 127.0.0.1. Every entry of
:data:`tocsin.testing.HOSTILE_CORPUS` (quotes, NUL, CRLF, ``{{ }}``/``{% %}``, ``</script>``, ``@everyone``,
``<!channel>``, markdown links, ANSI/OSC, bidi, lone surrogates, NaN/±Infinity, 10 MB strings, 10,000 keys,
datetime/Decimal/bytes/set/custom objects, 1,000-deep nesting) is sent to the channel and, alongside, to a
console witness. For each: the channel delivers a payload within every limit it declares
(``Channel.limits``, checked on the message and on the bytes the server received), JSON on the wire is
strict JSON, nothing reaches a terminal raw, and the witness always gets its alert.

Below the suite, one test per failure the hardening issue listed (each failed before its fix).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from tocsin import Event, Limit, LocalServers, Notifier, Outcome, PluginRegistry, utf16_len
from tocsin.testing import HOSTILE_CORPUS, HttpSink, Reply, write_config
from tocsin.testing.cases import ChannelCase, channel_cases
from tocsin.transport import MAX_RESPONSE_BYTES, Transport

pytest.importorskip("aiosmtpd")
from tocsin.testing.smtp import SmtpSink

CASES = channel_cases()
RAN: list[str] = []
FAST = {"timeout": 10.0, "max_retries": 0, "retry_deadline": 30.0}
#: What a receiver answers: one body every installed channel reads as success (Slack's {"ok": true},
#: ntfy's message id, PagerDuty's status, …).
SUCCESS = Reply(
    200,
    {"ok": True, "status": "success", "message": "Event processed", "dedup_key": "k1", "id": "m1", "time": 1,
     "event": "message", "channel": "C0123456789", "ts": "1700000000.000100"},
)  # fmt: skip
_UNSAFE_FOR_TERMINALS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# -- limits -----------------------------------------------------------------------------------------------
def _at(value: Any, path: list[str]) -> Iterator[Any]:
    """Every value at ``path`` (``["body", "embeds[]", "title"]``) inside ``value``."""
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(value, dict) or key not in value:
        return
    found = value[key]
    if many:
        for item in found if isinstance(found, list) else []:
            yield from _at(item, rest)
    else:
        yield from _at(found, rest)


def measure(value: Any, unit: str) -> int:
    if unit == "items":
        return len(value) if isinstance(value, (list, dict)) else 0
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if unit == "bytes":
        return len(text.encode("utf-8", "surrogatepass"))
    return utf16_len(text) if unit == "utf16" else len(text)


def violations(limits: tuple[Limit, ...], message: dict[str, Any], wire: bytes) -> list[str]:
    """What breaks a declared limit, in words (empty when everything is within)."""
    found = []
    for limit in limits:
        values = (
            [wire.decode("utf-8", "replace")] if limit.where == "wire" else list(_at(message, limit.where.split(".")))
        )
        for value in values:
            size = len(wire) if limit.where == "wire" and limit.unit == "bytes" else measure(value, limit.unit)
            if limit.max is not None and size > limit.max:
                found.append(f"{limit.where}: {size} {limit.unit} > {limit.max}")
            if limit.one_line and isinstance(value, str) and ("\n" in value or "\r" in value):
                found.append(f"{limit.where}: not one line: {value[:80]!r}")
    return found


def strict_json(payload: bytes) -> Any:
    """The payload parsed as JSON that any parser accepts (no NaN/Infinity tokens, UTF-8)."""

    def reject(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(payload.decode("utf-8"), parse_constant=reject)


# -- servers ----------------------------------------------------------------------------------------------
@attrs.define
class Servers:
    http: HttpSink
    smtp: SmtpSink
    local: LocalServers


@pytest.fixture
def servers() -> Iterator[Servers]:
    secret = "HostileSuite0secret"
    with HttpSink(default=SUCCESS) as http, SmtpSink(user="tocsin", password=secret) as smtp:
        yield Servers(http, smtp, LocalServers(http_url=http.url, smtp_port=smtp.port, secret=secret))


def _wire(servers: Servers, http_before: int, smtp_before: int, printed: str) -> bytes:
    if len(servers.http.requests) > http_before:
        return servers.http.requests[-1].body
    if len(servers.smtp.messages) > smtp_before:
        return servers.smtp.messages[-1].raw
    return printed.encode("utf-8", "surrogatepass")


# -- the suite --------------------------------------------------------------------------------------------
def test_every_channel_declares_its_limits() -> None:
    registry = PluginRegistry()
    missing = [name for name, info in registry.load_all(strict=False).items() if not info.spec.limits]
    assert not missing, f"channels that declare no limits (Channel(limits=...)): {missing}"
    RAN.append("declarations")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_hostile_corpus_through_every_channel(
    case: ChannelCase, servers: Servers, tmp_path: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    options = case.options(servers.local)
    info = PluginRegistry().channel(case.channel)
    targets = [
        {"name": "under-test", "channel": case.channel, "rate_limit": "off", **options},  # a burst on purpose
        {"name": "witness", "channel": "console", "stream": "stderr", "format": "json"},
    ]
    config = write_config(tmp_path / "tocsin.toml", {"notifications": FAST, "targets": targets})
    problems: list[str] = []
    with Notifier.from_file(config) as notifier:
        for name, make in HOSTILE_CORPUS.items():
            event = make()
            http_before, smtp_before = len(servers.http.requests), len(servers.smtp.messages)
            capfd.readouterr()
            report = notifier.notify(event)
            printed = capfd.readouterr()
            RAN.append(f"{case.id}:{name}")
            witness, receipt = report["witness"], report["under-test"]
            if witness.outcome is not Outcome.DELIVERED:
                problems.append(f"{name}: the console witness lost its alert: {witness.error}")
            if receipt.outcome is not Outcome.DELIVERED:
                problems.append(f"{name}: not delivered: {receipt.error}")
                continue
            message = notifier.render("under-test", event).to_dict()
            wire = _wire(servers, http_before, smtp_before, printed.out)
            problems.extend(f"{name}: {v}" for v in violations(info.spec.limits, message, wire))
            if len(servers.http.requests) > http_before:
                request = servers.http.requests[-1]
                if "json" in (request.header("content-type") or ""):
                    try:
                        strict_json(request.body)
                    except ValueError as exc:
                        problems.append(f"{name}: the JSON on the wire is not strict JSON: {exc}")
                injected = {"bcc", "x-injected"} & set(request.headers)
                if injected:
                    problems.append(f"{name}: event data injected headers {sorted(injected)}")
            for stream, text in (("stdout", printed.out), ("stderr", printed.err)):
                raw = _UNSAFE_FOR_TERMINALS.search(text)
                if raw:
                    problems.append(f"{name}: {stream} got a raw control/bidi character {raw.group(0)!r}")
    assert not problems, f"{case.id}:\n" + "\n".join(problems)


# -- one test per failure the issue listed ---------------------------------------------------------------
def _cli(*args: str, stdin: str | None = None, cwd: Any = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "TOCSIN_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        input=stdin.encode("utf-8", "surrogatepass") if stdin is not None else None,
        capture_output=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_nan_and_infinity_reach_every_target(tocsin_http_sink: HttpSink, tmp_path: Any) -> None:
    """Before: "cannot convert float NaN to integer" for every target; the webhook failed for good."""
    tocsin_http_sink.default = SUCCESS
    local = LocalServers(http_url=tocsin_http_sink.url)
    targets = [
        {"name": c.id.replace("[", "-").rstrip("]"), "channel": c.channel, **c.options(local)}
        for c in CASES
        if "smtp_url" not in c.options(local) and "host" not in c.options(local)
    ]
    # Retries: a dozen targets share one test server, whose kept-alive connections may drop (that is not NaN).
    notifications = {**FAST, "max_retries": 3, "retry_backoff": 0.05, "retry_backoff_max": 0.2}
    config = write_config(tmp_path / "t.toml", {"notifications": notifications, "targets": targets})
    event = Event("job_failed", data={"loss": float("nan"), "duration": float("nan"), "size": float("-inf")})
    with Notifier.from_file(config) as notifier:
        report = notifier.notify(event)
        assert not report.failed, [r.summary() for r in report.failed]
    for request in tocsin_http_sink.requests:
        if request.body.startswith(b"{"):
            strict_json(request.body)
    result = _cli(
        "render", "console", "job_failed", "--no-sample", "-d", "duration=NaN", "-d", "loss:=NaN", cwd=tmp_path
    )
    assert result.returncode == 0 and b"NaN" in result.stdout, result.stderr
    RAN.append("nan")


def test_a_lone_surrogate_neither_fails_the_console_nor_crashes_render(tmp_path: Any) -> None:
    result = _cli("send", "job_failed", "--json", "-", stdin='{"run_name": "x\\ud800y"}', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"x\\ud800y" in result.stdout
    result = _cli("render", "console", "job_failed", "--json", "-", stdin='{"run_name": "x\\ud800y"}', cwd=tmp_path)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    RAN.append("surrogate")


@pytest.mark.parametrize("command", [["send", "job_failed"], ["render", "console", "job_failed"]])
def test_ansi_osc_and_bidi_never_reach_the_terminal_raw(command: list[str], tmp_path: Any) -> None:
    data = {"run_name": "\x1b]0;pwned\x07\x1b[2J\x9b31m", "status": "invoice\u202egpj.exe"}
    result = _cli(*command, "--json", "-", stdin=json.dumps(data), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for stream in (result.stdout, result.stderr):
        text = stream.decode("utf-8", "surrogateescape")
        assert not _UNSAFE_FOR_TERMINALS.search(text), text
    assert b"\\u001b]0;pwned" in result.stdout and b"\\u202e" in result.stdout
    RAN.append(f"ansi:{command[0]}")


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("[" * 1000 + "]" * 1000, "nested too deeply"),
        ('{"data": [1, 2]}', '"data" must be an object'),
        ('{"type": "job_failed", "titel": "Nightly"}', "unknown event key 'titel' (did you mean 'title'?)"),
        ('{"titel": "Nightly"}', "did you mean the event key 'title'?"),
        ("{not json", "not valid JSON"),
        ('"just a string"', "expected a JSON object"),
    ],
)
def test_bad_json_input_is_a_clear_error(stdin: str, message: str, tmp_path: Any) -> None:
    result = _cli("send", "job_failed", "--json", "-", stdin=stdin, cwd=tmp_path)
    assert result.returncode == 2, result
    assert message in result.stderr.decode(), result.stderr
    assert b"Traceback" not in result.stderr
    RAN.append(f"json:{message}")


def test_data_values_are_text_unless_typed_with_colon_equals(tmp_path: Any) -> None:
    """httpie's convention: KEY=VALUE is a string, KEY:=JSON a typed value."""
    args = ["-d", "run_name=1.10", "-d", "exit_code=1e3", "-d", "job_name=null", "-d", "n:=1e3", "-d", "ok:=true"]
    result = _cli("render", "console", "job_failed", "--no-sample", "--message-json", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = json.loads(result.stdout)["text"]
    assert "Run        1.10" in text and "Exit code  1e3" in text and "Job        null" in text
    assert "N          1000.0" in text and "Ok         True" in text
    bad = _cli("render", "console", "job_failed", "-d", "n:=1e", cwd=tmp_path)
    assert bad.returncode == 2 and b"not valid JSON" in bad.stderr and b"Traceback" not in bad.stderr
    RAN.append("typed-data")


def test_recipients_as_one_string_is_one_address(tocsin_smtp_sink: Any, tocsin_make_notifier: Any) -> None:
    """Before: "ops@example.org" was split into 15 one-character addresses and dropped."""
    assert Event("job_failed", recipients="ops@example.org").recipients == ("ops@example.org",)
    pytest.importorskip("tocsin_email", reason="the delivery half needs the email channel")
    notifier = tocsin_make_notifier(
        [
            {
                "name": "mail",
                "channel": "email",
                "host": tocsin_smtp_sink.host,
                "port": tocsin_smtp_sink.port,
                "security": "none",
                "from": "alerts@example.org",
                "event_recipients": "only",
            }
        ]
    )
    report = notifier.notify(Event("job_failed", recipients="ops@example.org"))
    assert not report.failed, [r.summary() for r in report.receipts]
    assert [m.rcpt_tos for m in tocsin_smtp_sink.messages] == [["ops@example.org"]]
    RAN.append("recipients")


class _EndlessServer:
    """Answers every request with a 500 claiming 100 MB, then streams until the client hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.sent = 0
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            head = (
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 104857600\r\n\r\n"
            )
            conn.sendall(head)
            chunk = b"E" * 65536
            try:
                while self.sent < 100 * 1024 * 1024:
                    conn.sendall(chunk)
                    self.sent += len(chunk)
            except OSError:
                pass
        self.done.set()

    def close(self) -> None:
        self.sock.close()


def test_a_100_megabyte_answer_is_never_read_whole() -> None:
    """Before: the whole body of any answer (a 500 too) was read into memory."""
    server = _EndlessServer()

    async def post() -> Exception:
        transport = Transport(timeout=10)
        try:
            await transport.post_json(server.url, {"x": 1})
        except Exception as exc:
            return exc
        finally:
            await transport.aclose()
        raise AssertionError("a 500 was not an error")

    error = asyncio.run(post())
    assert server.done.wait(10), "the client never hung up"
    server.close()
    assert "HTTP 500" in str(error) and len(str(error)) < 1000
    assert server.sent < 20 * 1024 * 1024, f"the client read {server.sent} bytes"
    assert MAX_RESPONSE_BYTES <= 1024 * 1024
    RAN.append("100MB")


def test_non_finite_numbers_are_decided_in_one_place() -> None:
    from tocsin.presentation import format_duration, format_size
    from tocsin.templating import to_json
    from tocsin.transport import encode_json

    for value, word in ((math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")):
        assert format_duration(value) == word and format_size(value) == word
        assert json.loads(to_json({"v": value})) == {"v": word}
        assert json.loads(encode_json({"v": [value]})) == {"v": [word]}
    RAN.append("non-finite")


def test_zz_hostile_suite_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many cases the suite ran (the last test of the module)."""
    channels = sorted({case.channel for case in CASES})
    with capsys.disabled():
        print(f"\nhostile suite: {len(RAN)} cases over {len(channels)} channels ({', '.join(channels)})")
