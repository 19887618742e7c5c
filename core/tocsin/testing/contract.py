"""The conformance suite for channel plugins: subclass :class:`ChannelContract` in your plugin's tests.

A channel author runs every check with a few lines::

    from tocsin.testing import ChannelContract

    class TestNtfyContract(ChannelContract):
        channel = "ntfy"
        distribution = "tocsin-ntfy"

        def target_options(self, sink_url):
            return {"url": sink_url, "topic": "alerts"}

What it checks, each as its own test (so a failure names the broken promise):

* discovery: the ``tocsin`` entry point named after the channel exists, belongs to ``distribution``,
  and ``PluginRegistry().channel(name)`` loads it; every option is documented; ``tocsin channels --json``
  lists it;
* options validation: a missing required option and a wrongly typed one are errors that name the file
  and the key (``tocsin.toml: targets[0].url: required``), and never show a secret's value;
* render: every standard event type (:data:`tocsin.EVENT_TYPES`) formats into a plain, serializable
  :class:`~tocsin.Message`;
* hostile data: the hostile event is delivered, as valid JSON when the channel sends JSON, without
  injected headers or keys, within ``max_payload_bytes``;
* secrets: no :class:`~tocsin.Secret` option value appears in reprs, in ``Message.to_dict()``, in a
  failed receipt's error (even when the server quotes the credentials back), or in the logs;
* retries: 5xx is retried then delivered, 429 waits for ``Retry-After``, 4xx fails at once;
* template override: a deployment's ``template_dirs/<channel>/default.<part>.j2`` wins;
* attachments: a channel that declares it carries files (``Channel.max_attachment_bytes > 0``) puts an
  attached file's bytes on the wire, any other lists its name in the message; a file over the cap (or
  missing) is left out with a note in the message and a receipt warning, and the alert is delivered;
* the CLI: ``tocsin test <target>`` sends the sample event;
* noise control (:mod:`tocsin.testing.noise_checks`): a burst past the channel's declared ``rate_limit``
  is held and sent as one digest through the channel's templates (the other checks use ``rate_limit =
  "off"``);
* ownership (:mod:`tocsin.testing.ownership`): no hook of the distribution answers for another channel's
  target (a hook-only module's guard-less ``format_message``, an ``async def deliver`` that answers every
  call), a deployment's plain ``@hookimpl`` runs before the channel's (``trylast``), and ``deliver`` returns
  an awaitable.

Non-HTTP channels (email, the console) adapt it with class attributes (``http = False``,
``sends_json``) and hooks (override the ``sink`` fixture, :meth:`ChannelContract.sink_url`,
:meth:`ChannelContract.last_payload`, :meth:`ChannelContract.script_answers`, …). A check that does
not apply skips itself and says why.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import logging
import os
import re
import subprocess
import sys
import typing
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from ..attachments import Attachment, caps_for
from ..config import TARGET_KEYS
from ..errors import ConfigError
from ..events import EVENT_TYPES, Event
from ..messages import Message, Outcome, Receipt
from ..noise_config import NOISE_KEYS
from ..notifier import Notifier
from ..plugins import CHANNEL_GROUP, PluginRegistry
from ..samples import sample_event
from ..secrets import find_secrets, secret_parts
from ..structure import Problems, option_key, structure_attrs, structure_value
from .noise_checks import NoiseChecks
from .ownership import OwnershipChecks
from .sinks import HttpSink, Reply

__all__ = ["OVERRIDE_MARKER", "ChannelContract"]

#: The text the default template override puts in the title, to show the override was used.
OVERRIDE_MARKER = "TOCSIN-OVERRIDE-MARKER"
#: The event type the override check renders when it overrides ``default.<part>.j2``: a custom type,
#: for which no channel ships an event-specific template.
OVERRIDE_EVENT_TYPE = "contract_override_check"

# Values tried, in order, to find one the config loader rejects for an option's type.
_WRONG_VALUES: tuple[Any, ...] = (12345, "tocsin-contract-wrong-type", ["tocsin", "contract"], {"tocsin": 1}, True)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class ChannelContract(OwnershipChecks, NoiseChecks):
    """Subclass as ``TestXxxContract`` in a plugin's tests; set ``channel`` and ``distribution`` and
    implement :meth:`target_options`. Everything else has a default you may override.
    """

    #: The channel name targets use (``channel = "ntfy"``).
    channel: ClassVar[str] = ""
    #: The distribution that must provide it (``"tocsin-ntfy"``; ``"tocsin"`` for a built-in channel).
    distribution: ClassVar[str] = ""
    #: Found through an entry point in the ``tocsin`` group (False for channels built into the core).
    entry_point: ClassVar[bool] = True
    #: Delivers over HTTP through ``transport.post_json`` (runs the HTTP answer checks on ``tocsin_http_sink``).
    http: ClassVar[bool] = True
    #: What goes on the wire is a JSON document (checked to parse under hostile data).
    sends_json: ClassVar[bool] = True
    #: The sink's answer to a successful delivery (Discord: ``Reply(204)``; Slack: ``Reply(200, b"ok")``).
    success_reply: ClassVar[Reply] = Reply(200, b"ok")
    #: HTTP answers that must be retried, and answers that must fail at once, without a retry.
    retryable_statuses: ClassVar[tuple[int, ...]] = (500, 503)
    permanent_statuses: ClassVar[tuple[int, ...]] = (400, 403, 404)
    #: Event types sent with hostile data.
    hostile_event_types: ClassVar[tuple[str, ...]] = ("job_failed", "backup_completed")
    #: The most bytes one delivery may put on the wire (the platform's limit), or None.
    max_payload_bytes: ClassVar[int | None] = None
    #: The template part the override check replaces: ``"json"`` for JSON channels, else ``"txt"``.
    template_part: ClassVar[str | None] = None
    #: Run the ``tocsin`` command-line checks (a subprocess each).
    cli: ClassVar[bool] = True
    #: The target's name in the generated config.
    target_name: ClassVar[str] = "contract"
    #: The template folder the channel renders from, when it is not the channel's name (``slack-api``
    #: renders ``slack/…``).
    template_folder: ClassVar[str | None] = None

    @property
    def folder(self) -> str:
        """The template folder: :attr:`template_folder`, else the channel's name."""
        return self.template_folder or self.channel

    # -- hooks a channel author implements or overrides ----------------------------------------------
    def target_options(self, sink_url: Any) -> dict[str, Any]:
        """The channel's options for a target that delivers to ``sink_url`` (the sink's address)."""
        raise NotImplementedError(f"{type(self).__name__} must implement target_options(self, sink_url)")

    @pytest.fixture
    def sink(self, tocsin_http_sink: HttpSink) -> HttpSink:
        """What receives deliveries. Non-HTTP channels override this fixture (``tocsin_smtp_sink``, ``capsys``)."""
        tocsin_http_sink.default = self.success_reply
        return tocsin_http_sink

    def sink_url(self, sink: Any) -> Any:
        """The address handed to :meth:`target_options`: the HTTP sink's base URL."""
        return sink.url

    def required_options_missing(self) -> list[str]:
        """Options whose absence must be an error naming them: by default every required option."""
        return [row["name"] for row in self.channel_info().spec.option_docs() if row["required"]]

    def bad_options(self) -> dict[str, Any]:
        """``{option: wrong value}``, each of which must be a config error naming the option.

        By default, for every option, a value of the wrong type. Add values your validators reject
        (``{**super().bad_options(), "url": "ftp://nope"}``).
        """
        spec = self.channel_info().spec
        hints = typing.get_type_hints(spec.options)
        wrong: dict[str, Any] = {}
        for field in attrs.fields(spec.options):
            if not field.init:
                continue
            tp = hints.get(field.name, field.type)
            for candidate in _WRONG_VALUES:
                problems = Problems()
                structure_value(candidate, tp, "x", problems)
                if problems:
                    wrong[option_key(field)] = candidate
                    break
        return wrong

    def secret_options(self, sink_url: Any) -> dict[str, Any]:
        """:meth:`target_options` plus a generated value for each Secret option it leaves out, where the
        options still validate with it (secrets that exclude each other, or need a particular form, are
        left out). Override it to give secrets of your own.
        """
        options = dict(self.target_options(sink_url))
        options_class = self.channel_info().spec.options
        hints = typing.get_type_hints(options_class)
        for field in attrs.fields(options_class):
            key = option_key(field)
            tp = str(hints.get(field.name, field.type))
            if key in options or "Secret" not in tp:
                continue
            value = f"tocsin-contract-secret-{key}-{uuid.uuid4().hex[:12]}"
            candidate = {**options, key: {"X-Tocsin-Contract": value} if tp.startswith("dict") else value}
            problems = Problems()
            structure_attrs(candidate, options_class, "", problems)
            if not problems:
                options = candidate
        return options

    def override_template(self) -> tuple[str, str]:
        """``(file name, content)`` of the deployment's override, written under ``<dir>/<channel>/``.

        The default takes the channel's own ``default.<part>.j2`` and prefixes it with
        ``{% set title = "TOCSIN-OVERRIDE-MARKER " ~ title %}``: a valid message for any channel whose
        template shows ``title``. Give your own when it does not.
        """
        name = f"default.{self.part()}.j2"
        source = self.packaged_template_source(name)
        return name, f'{{% set title = "{OVERRIDE_MARKER} " ~ title %}}\n{source}'

    def check_message(self, message: Message, event: Event) -> None:
        """Extra assertions on every rendered standard event (your channel's own promises)."""

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        """Extra assertions on what a hostile event put on the wire."""

    def last_payload(self, sink: Any) -> bytes:
        """The bytes the last delivery put on the wire (the HTTP request body)."""
        return sink.last.body

    def last_headers(self, sink: Any) -> dict[str, str]:
        """The last delivery's headers, lower-cased (empty for channels without any)."""
        return dict(sink.last.headers) if self.http else {}

    def wire_bytes_since(self, sink: Any, since: int) -> bytes:
        """Everything deliveries put on the wire after the first ``since`` attempts (0 for non-HTTP channels),
        with attachments decoded (the attachment checks look for a file's bytes in it). HTTP: the bodies."""
        if not self.http:
            pytest.skip(f"{type(self).__name__}: non-HTTP channel; override wire_bytes_since() for this check")
        return b"".join(request.body for request in sink.requests[since:])

    def attempts_seen(self, sink: Any) -> int:
        """How many delivery attempts reached the sink so far."""
        if not self.http:
            pytest.skip(f"{type(self).__name__}: non-HTTP channel; override attempts_seen() to run this check")
        return len(sink.requests)

    def script_answers(self, sink: Any, *answers: str, echo: Sequence[str] = ()) -> None:
        """Make the sink answer the next attempts with ``answers``, then succeed again.

        Each answer is ``"retryable"`` (HTTP 5xx), ``"rate_limited"`` (HTTP 429 with ``Retry-After``;
        ``"rate_limited:<seconds>"``), ``"permanent"`` (HTTP 400) or ``"permanent:<status>"``. ``echo``
        lists text the server quotes back in its error (secrets, to check they are redacted).
        Non-HTTP channels override this with their own sink's way to fail.
        """
        if not self.http:
            pytest.skip(f"{type(self).__name__}: non-HTTP channel; override script_answers() to run this check")
        quoted = " ".join(echo)
        replies = []
        for answer in answers:
            kind, _, arg = answer.partition(":")
            body = {"error": f"rejected {quoted}".strip(), "message": f"the server says no {quoted}".strip()}
            if kind == "retryable":
                replies.append(Reply(int(arg or self.retryable_statuses[0]), body))
            elif kind == "rate_limited":
                replies.append(Reply(429, body, headers={"Retry-After": arg or "0.3"}))
            elif kind == "permanent":
                replies.append(Reply(int(arg or self.permanent_statuses[0]), body))
            else:
                raise ValueError(f"unknown answer {answer!r}")
        sink.reply(*replies)

    def check_cli_test(self, sink: Any, result: subprocess.CompletedProcess[str], seen_before: int | None) -> None:
        """What ``tocsin test <target>`` must have done: by default, one more request reached the sink."""
        if seen_before is not None:
            assert self.attempts_seen(sink) == seen_before + 1, "tocsin test did not send exactly one request"

    # -- helpers ------------------------------------------------------------------------------------
    def part(self) -> str:
        return self.template_part or ("json" if self.sends_json else "txt")

    def channel_info(self) -> Any:
        """The loaded channel (``ChannelInfo``: spec, distribution, version)."""
        return PluginRegistry(load_entrypoints=self.entry_point).channel(self.channel)

    def packaged_template_source(self, name: str) -> str:
        """The source of ``<channel>/<name>`` as the channel ships it (no deployment override)."""
        registry = PluginRegistry(load_entrypoints=self.entry_point)
        registry.channel(self.channel)
        from ..templating import Templates

        env = Templates(registry).environment("text")
        try:
            source, _, _ = env.loader.get_source(env, f"{self.folder}/{name}")  # type: ignore[union-attr]
        except Exception:
            pytest.fail(
                f"channel {self.channel!r} ships no template {self.folder}/{name}: set template_part, or "
                f"override override_template() to return (file name, content) of a valid override"
            )
        return source

    def target(self, sink: Any, *, options: Mapping[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
        """One ``[[targets]]`` table for this channel, delivering to ``sink``."""
        opts = dict(self.target_options(self.sink_url(sink)) if options is None else options)
        return {"name": self.target_name, "channel": self.channel, "rate_limit": "off", **opts, **keys}

    def notifier(self, tocsin_make_notifier: Any, sink: Any, **kwargs: Any) -> Notifier:
        """A notifier from a real ``tocsin.toml`` with one target of this channel."""
        notifications = kwargs.pop("notifications", None)
        return tocsin_make_notifier([self.target(sink, **kwargs)], notifications=notifications)

    def receipt(self, notifier: Notifier, event: Event) -> Receipt:
        return notifier.notify(event, targets=[self.target_name])[self.target_name]

    def config_problems(self, tocsin_make_notifier: Any, table: Mapping[str, Any]) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            tocsin_make_notifier([table])
        return caught.value.problems

    def secrets_of(self, notifier: Notifier) -> list[str]:
        # Every part the core redacts (tocsin.secrets.secret_parts): whole values, URL userinfo, path
        # segments and query values, the token of a Bearer/Basic header value.
        return sorted({p for s in find_secrets(notifier.target(self.target_name).options) for p in secret_parts(s)})

    def assert_no_secret(self, text: str, secrets: Sequence[str], where: str) -> None:
        for secret in secrets:
            assert secret not in text, f"a secret option value appears in {where}"

    @pytest.fixture(autouse=True)
    def _contract_declared(self) -> None:
        if not self.channel or not self.distribution:
            pytest.fail(f"{type(self).__name__}: set the class attributes channel and distribution")

    # -- discovery ----------------------------------------------------------------------------------
    def test_discovered_through_entry_point(self) -> None:
        """The ``tocsin`` entry point named after the channel belongs to the distribution and loads."""
        if self.entry_point:
            found = [ep for ep in metadata.entry_points(group=CHANNEL_GROUP) if ep.name == self.channel]
            assert found, (
                f"no entry point {self.channel!r} in group {CHANNEL_GROUP!r}: add "
                f'[project.entry-points.tocsin] {self.channel} = "<module>" to pyproject.toml and reinstall'
            )
            owners = {_canonical(ep.dist.metadata["Name"]) for ep in found if ep.dist is not None}
            assert owners == {_canonical(self.distribution)}, f"entry point {self.channel!r} comes from {owners}"
        info = PluginRegistry(load_entrypoints=self.entry_point).channel(self.channel)
        assert info.spec.name == self.channel
        assert _canonical(info.distribution) == _canonical(self.distribution)
        docs = info.spec.option_docs()
        undocumented = [row["name"] for row in docs if not row["doc"]]
        assert not undocumented, f"options without metadata={{'doc': ...}}: {undocumented}"
        clashes = [row["name"] for row in docs if row["name"] in (*TARGET_KEYS, *NOISE_KEYS)]
        assert not clashes, f"options named like target keys the core owns: {clashes}"
        if info.spec.templates is not None:
            assert (info.spec.templates / self.folder).is_dir(), f"no {self.folder}/ in {info.spec.templates}"

    def test_listed_by_tocsin_channels(self) -> None:
        """``tocsin channels --json`` shows the channel, its distribution, version and documented options."""
        if not self.cli:
            pytest.skip("cli = False")
        result = _run_cli("channels", "--json")
        assert result.returncode == 0, result.stderr
        rows = {row["name"]: row for row in json.loads(result.stdout)["channels"]}
        assert self.channel in rows, f"tocsin channels does not list {self.channel!r}: {sorted(rows)}"
        row = rows[self.channel]
        assert _canonical(row["distribution"]) == _canonical(self.distribution)
        assert row["version"]
        expected = {r["name"] for r in self.channel_info().spec.option_docs()}
        assert {option["name"] for option in row["options"]} == expected
        assert all(option["doc"] for option in row["options"])

    # -- options validation -------------------------------------------------------------------------
    def test_missing_required_option_names_file_and_key(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """Leaving out a required option is ``tocsin.toml: targets[0].<key>: required``."""
        keys = self.required_options_missing()
        if not keys:
            pytest.skip(f"channel {self.channel!r} has no required option")
        for key in keys:
            table = self.target(sink)
            table.pop(key, None)
            problems = self.config_problems(tocsin_make_notifier, table)
            assert any(f"tocsin.toml: targets[0].{key}: required" in p for p in problems), problems

    def test_wrong_option_names_file_and_key(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """A wrongly typed (or invalid) option is an error naming file and key, never a secret's value."""
        bad = self.bad_options()
        if not bad:
            pytest.skip(f"channel {self.channel!r} has no option to get wrong")
        options_class = self.channel_info().spec.options
        hints = typing.get_type_hints(options_class)
        secret_keys = {option_key(f) for f in attrs.fields(options_class) if "Secret" in str(hints[f.name])}
        for key, value in bad.items():
            problems = self.config_problems(tocsin_make_notifier, {**self.target(sink), key: value})
            named = [p for p in problems if f"tocsin.toml: targets[0].{key}: " in p]
            assert named, f"{key} = {value!r} gave no error naming tocsin.toml: targets[0].{key}: {problems}"
            if key in secret_keys and isinstance(value, str) and len(value) >= 4:
                assert all(value not in p for p in problems), f"the error shows the secret option {key}'s value"

    # -- rendering ----------------------------------------------------------------------------------
    def test_renders_every_standard_event_type(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """Every type in ``tocsin.EVENT_TYPES`` formats into a plain, serializable Message."""
        notifier = self.notifier(tocsin_make_notifier, sink)
        for event_type in EVENT_TYPES:
            event = sample_event(event_type)
            message = notifier.render(self.target_name, event)
            assert isinstance(message, Message), f"{event_type}: format_message returned {type(message)}"
            assert (message.channel, message.event_type, message.event_id) == (self.channel, event_type, event.id)
            assert any(
                part not in (None, "") for part in (message.body, message.text, message.html, message.subject)
            ), f"{event_type}: the message is empty"
            data = message.to_dict()
            json.dumps(data)  # plain JSON-able data, so it can be stored and delivered later
            assert Message.from_dict(data) == message, f"{event_type}: Message.from_dict(to_dict()) differs"
            if self.sends_json:
                assert message.body is not None, f"{event_type}: sends_json but the message has no body"
            self.check_message(message, event)

    def test_hostile_event_is_delivered_safely(
        self, tocsin_make_notifier: Any, sink: Any, tocsin_hostile_event: Any
    ) -> None:
        """Hostile data (quotes, CR/LF, mentions, HTML, 1 MB error, 40 extra fields) cannot break the payload."""
        notifier = self.notifier(tocsin_make_notifier, sink)
        for event_type in self.hostile_event_types:
            event = tocsin_hostile_event(event_type)
            message = notifier.render(self.target_name, event)
            receipt = self.receipt(notifier, event)
            assert receipt.outcome is Outcome.DELIVERED, f"{event_type}: {receipt.error}"
            payload = self.last_payload(sink)
            headers = self.last_headers(sink)
            if self.sends_json:
                try:
                    document = json.loads(payload)
                except ValueError as exc:
                    pytest.fail(f"{event_type}: the hostile event produced invalid JSON: {exc}")
                if isinstance(document, dict):
                    assert "injected" not in document, "event data injected a key into the JSON document"
            if self.max_payload_bytes is not None:
                assert len(payload) <= self.max_payload_bytes, f"{len(payload)} bytes > {self.max_payload_bytes}"
            assert "bcc" not in headers and "x-injected" not in headers, "event data injected a header"
            self.check_hostile(message, payload, headers)

    # -- secrets ------------------------------------------------------------------------------------
    def test_secrets_absent_from_reprs_and_messages(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """No Secret option value in the target's or message's repr, or in ``Message.to_dict()``."""
        notifier = self.notifier(tocsin_make_notifier, sink, options=self.secret_options(self.sink_url(sink)))
        secrets = self.secrets_of(notifier)
        if not secrets:
            pytest.skip(f"channel {self.channel!r} has no Secret option")
        target = notifier.target(self.target_name)
        self.assert_no_secret(repr(target), secrets, "repr(target)")
        self.assert_no_secret(repr(target.options) + str(target.options), secrets, "the options' repr")
        self.assert_no_secret(repr(notifier.config), secrets, "repr(config)")
        for event_type in ("job_failed", "job_completed"):
            message = notifier.render(self.target_name, event_type)
            self.assert_no_secret(repr(message) + str(message), secrets, "repr(message)")
            self.assert_no_secret(json.dumps(message.to_dict(), ensure_ascii=False), secrets, "Message.to_dict()")

    def test_secrets_absent_from_errors_and_logs(
        self, tocsin_make_notifier: Any, sink: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A server that quotes the credentials back: the receipt's error and the logs stay redacted."""
        caplog.set_level(logging.DEBUG)
        notifier = self.notifier(tocsin_make_notifier, sink, options=self.secret_options(self.sink_url(sink)))
        secrets = self.secrets_of(notifier)
        if not secrets:
            pytest.skip(f"channel {self.channel!r} has no Secret option")
        self.script_answers(sink, "retryable", "permanent", echo=secrets)
        receipt = self.receipt(notifier, sample_event("job_failed"))
        assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2, receipt
        assert receipt.error
        self.assert_no_secret(receipt.error, secrets, "the receipt's error")
        self.assert_no_secret(receipt.summary(), secrets, "the receipt's summary")
        self.assert_no_secret(caplog.text, secrets, "the logs")
        for record in caplog.records:
            self.assert_no_secret(record.getMessage(), secrets, f"the log record {record.name}")

    # -- retries ------------------------------------------------------------------------------------
    def test_server_errors_are_retried_then_delivered(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """5xx answers are retried (with backoff) until the server recovers."""
        notifier = self.notifier(tocsin_make_notifier, sink)
        before = self.attempts_seen(sink)
        self.script_answers(sink, *(f"retryable:{status}" for status in self.retryable_statuses))
        receipt = self.receipt(notifier, sample_event("job_failed"))
        expected = len(self.retryable_statuses) + 1
        assert receipt.outcome is Outcome.DELIVERED, receipt.error
        assert receipt.attempts == expected
        assert self.attempts_seen(sink) - before == expected

    def test_rate_limit_waits_for_retry_after(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """429 with ``Retry-After`` is retried after that wait, not the (millisecond) backoff."""
        if not self.http:
            pytest.skip("Retry-After is an HTTP answer")
        notifier = self.notifier(tocsin_make_notifier, sink)
        before = self.attempts_seen(sink)
        self.script_answers(sink, "rate_limited:0.4")
        receipt = self.receipt(notifier, sample_event("job_failed"))
        assert receipt.outcome is Outcome.DELIVERED, receipt.error
        assert receipt.attempts == 2
        first, second = sink.requests[before], sink.requests[before + 1]
        assert second.received_at - first.received_at >= 0.35, "the retry did not wait for Retry-After"

    def test_client_errors_fail_without_retry(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """4xx answers fail the target at once: one attempt, the status and a reason in the receipt."""
        notifier = self.notifier(tocsin_make_notifier, sink)
        for status in self.permanent_statuses:
            before = self.attempts_seen(sink)
            self.script_answers(sink, f"permanent:{status}")
            receipt = self.receipt(notifier, sample_event("job_failed"))
            assert receipt.outcome is Outcome.FAILED, f"HTTP {status} was not a failure"
            assert receipt.attempts == 1, f"HTTP {status} was retried ({receipt.attempts} attempts)"
            assert self.attempts_seen(sink) - before == 1
            assert receipt.error and str(status) in receipt.error, receipt.error
            if self.http:
                assert receipt.status_code == status

    # -- templates ----------------------------------------------------------------------------------
    def test_template_override_by_file_name(self, tocsin_make_notifier: Any, sink: Any, tmp_path: Path) -> None:
        """A file of the same name in the deployment's ``template_dirs`` wins over the packaged one."""
        name, content = self.override_template()
        folder = tmp_path / "deployment-templates"
        (folder / self.folder).mkdir(parents=True)
        (folder / self.folder / name).write_text(content, encoding="utf-8")
        notifier = self.notifier(tocsin_make_notifier, sink, notifications={"template_dirs": [str(folder)]})
        event_type = OVERRIDE_EVENT_TYPE if name.startswith("default.") else name.split(".", 1)[0]
        event = sample_event(event_type)
        message = notifier.render(self.target_name, event)
        shown = json.dumps(message.to_dict(), ensure_ascii=False)
        assert OVERRIDE_MARKER in shown, (
            f"the override {self.folder}/{name} was not used (or does not show {OVERRIDE_MARKER!r}): {shown[:500]}"
        )
        receipt = self.receipt(notifier, event)
        assert receipt.outcome is Outcome.DELIVERED, receipt.error
        wire = self.last_payload(sink).decode("utf-8", "replace") + " ".join(self.last_headers(sink).values())
        assert OVERRIDE_MARKER in wire, "the overridden template's output did not reach the wire"

    # -- attachments --------------------------------------------------------------------------------
    def carries_files(self, notifier: Notifier) -> bool:
        """Whether the contract's target sends files: its channel's ``max_attachment_bytes`` (or the
        target's own ``max_attachment_bytes`` option, where the channel has one) is above 0."""
        return caps_for(self.channel_info().spec, notifier.target(self.target_name).options).per_file > 0

    def attachment_event(self, *attachments: Attachment) -> Event:
        return sample_event("job_failed", attachments=attachments)

    def _shown(self, sink: Any) -> str:
        return self.last_payload(sink).decode("utf-8", "replace") + " ".join(self.last_headers(sink).values())

    def test_attachment_arrives_or_is_listed(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """An attached file reaches the wire (channels that carry files) or its name is in the message."""
        notifier = self.notifier(tocsin_make_notifier, sink)
        data = f"tocsin contract attachment {uuid.uuid4().hex}\n".encode()
        event = self.attachment_event(Attachment(data=data, name="contract-report.txt"))
        message = notifier.render(self.target_name, event)
        stored = json.dumps(message.to_dict(), ensure_ascii=False)
        assert Message.from_dict(json.loads(stored)) == message, "Message.from_dict(to_dict()) differs"
        assert data.decode().strip() not in stored, "the Message holds the file's bytes instead of a reference"
        assert [ref.name for ref in message.attachments] == ["contract-report.txt"], message.attachments
        before = self.attempts_seen(sink) if self.http else 0
        receipt = self.receipt(notifier, event)
        assert receipt.outcome is Outcome.DELIVERED, receipt.error
        assert not receipt.warnings, receipt.warnings
        if self.carries_files(notifier):
            assert data in self.wire_bytes_since(sink, before), "the attached file did not reach the wire"
        else:
            assert "contract-report.txt" in self._shown(sink), "the attachment's name is not in the message"

    def test_attachment_over_the_cap_is_left_out_not_failed(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """A file over the cap (here ``max_attachment_bytes = 64``) is left out: the alert is delivered, the
        message names the file, the receipt warns; a missing file is left out the same way."""
        notifier = self.notifier(tocsin_make_notifier, sink, notifications={"max_attachment_bytes": 64})
        big = b"tocsin-contract-too-large " * 40
        missing = Path(notifier.config.path).parent / "no-such-file.log"
        for attachment, word in ((Attachment(data=big, name="too-large.bin"), "too-large.bin"), (missing, "no-such")):
            before = self.attempts_seen(sink) if self.http else 0
            receipt = self.receipt(notifier, self.attachment_event(attachment))
            assert receipt.outcome is Outcome.DELIVERED, f"{word}: {receipt.error}"
            assert any(word in w and "left out" in w for w in receipt.warnings), receipt.warnings
            assert word in self._shown(sink), f"the message does not name the left-out file {word}"
            assert big not in self.wire_bytes_since(sink, before), "the file over the cap was sent"

    # -- command line -------------------------------------------------------------------------------
    def test_cli_test_sends_the_sample(self, tocsin_make_notifier: Any, sink: Any) -> None:
        """``tocsin test <target> --config tocsin.toml`` sends the sample event and exits 0."""
        if not self.cli:
            pytest.skip("cli = False")
        notifier = self.notifier(tocsin_make_notifier, sink)
        seen = self.attempts_seen(sink) if self.http else None
        result = _run_cli("test", self.target_name, "--config", str(notifier.config.path))
        assert result.returncode == 0, result.stderr
        assert f"{self.target_name}  delivered" in result.stderr
        self.check_cli_test(sink, result, seen)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TOCSIN_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )
