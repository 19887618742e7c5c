"""Digests through every installed channel: one digest of 500 mixed, hostile events, as each receiver gets it.

Channels are found through the registry (a channel installed later is in the suite at once) and pointed at
servers on 127.0.0.1 by their own ``Channel.test_options``. The digest (``tocsin.digest_event``) holds 500
events: a note with a ``javascript:`` link and a hostile title (mentions, ``<!channel>``, ``<users/all>``,
markup, a Markdown link, an ANSI escape, CR/LF and 10,000 more characters), a failure and a success with
links, then 497 failures with 10 KB titles; a second corpus gives every event a 600-character link (a signed
URL). What the receiver got must: say how many and why (the title), list the first events in order, each
with its whole link (so a limit never cut into a listed event), and say how many more there were, so that
the listed and the "N more" add up to 500; carry no ``javascript:`` link, no control character and none of the markup the
channel's platform would act on; and keep within every limit the channel declares (``Channel.limits``).
Each channel ships ``<folder>/digest.<part>.j2`` for it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import attrs
import pytest

from tocsin import Event, Notifier, Outcome, PluginRegistry, digest_event
from tocsin.template_catalog import packaged_templates
from tocsin.testing import write_config
from tocsin.testing.cases import ChannelCase, channel_cases

pytest.importorskip("aiosmtpd")

from . import test_hostile_suite as hostile
from .test_hostile_suite import Servers, violations

#: The hostile suite's fixture: an HTTP and an SMTP sink on 127.0.0.1 answering success, and LocalServers.
servers = hostile.servers

CASES = channel_cases()
UNTIL = datetime(2026, 12, 3, 21, 0, tzinfo=timezone.utc)
TOTAL = 500
HOSTILE_TITLE = (
    "@everyone @here <!channel> <users/all> </script><script>alert(1)</script> [click me](http://evil.example) "
    "<http://evil.example|x> \x1b[31mred\x1b[0m\r\nBcc: victim@example.org "
)
#: Text a channel's platform would act on, which must not reach it as written (by the case's pytest id).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "discord": ("@everyone", "@here", "[click me](http"),
    "slack": ("<!channel>", "<http://evil.example|x>"),
    "slack[1]": ("<!channel>", "<http://evil.example|x>"),
    "slack-api": ("<!channel>", "<http://evil.example|x>"),
    "mattermost": ("<!channel>", "@everyone", "[click me](http"),
    "teams": ("[click me](http", "<script>"),
    "googlechat": ("<users/all>", "<script>"),
    "telegram": ("<script>",),
    "gotify[1]": ("[click me](http",),
    "email": ("<script>",),  # in the HTML part
    "email[1]": ("<script>",),
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def digest_of_500(corpus: str) -> Event:
    """``hostile``: hostile titles of 10 KB; ``long_links``: links of 600 characters (signed URLs)."""
    events = [
        Event("job_started", title=HOSTILE_TITLE + "N" * 10_000, data={"url": "javascript:alert(1)"}),
        Event(
            "job_failed",
            title=HOSTILE_TITLE + "F" * 10_000,
            data={"run_url": link(1, corpus), "error": "Traceback\nValueError: <!channel> @everyone"},
        ),
        Event("job_completed", title="Nightly export completed", data={"run_url": link(2, corpus)}),
    ]
    title = "T" * (10_000 if corpus == "hostile" else 200)
    events += [
        Event("job_failed", title=f"Run {i} {title}", data={"run_url": link(i, corpus)}) for i in range(3, TOTAL)
    ]
    return digest_event(
        events, reason="group", since=UNTIL - timedelta(minutes=5), until=UNTIL, group={"type": "job_*"}
    )


def link(index: int, corpus: str) -> str:
    return f"https://ci.example/runs/{index}" + ("?sig=" + "s" * 600 if corpus == "long_links" else "?a=1&b=2")


# -- what the receiver got ----------------------------------------------------------------------------
@attrs.define
class Received:
    wire: bytes
    text: str  # every string a person could read, as the receiver parses it
    markup: str  # the part where markup counts (the HTML part of a mail; else the text)
    document: Any = None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def received(servers: Servers, http_before: int, smtp_before: int, printed: str) -> Received:
    if len(servers.http.requests) > http_before:
        request = servers.http.requests[-1]
        headers = "\n".join(v for k, v in request.headers.items() if k.startswith("x-"))
        if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
            text = "\n".join(value for _, value in parse_qsl(request.text)) + "\n" + headers
            return Received(request.body, text, text)
        try:
            document = json.loads(request.body)
        except ValueError:
            text = request.text + "\n" + headers
            return Received(request.body, text, text)
        text = "\n".join(_strings(document)) + "\n" + headers
        return Received(request.body, text, text, document)
    if len(servers.smtp.messages) > smtp_before:
        mail = servers.smtp.messages[-1]
        plain, markup = mail.part("plain"), mail.part("html")
        parts = [str(mail["Subject"]), plain.get_content() if plain else "", markup.get_content() if markup else ""]
        return Received(mail.raw, "\n".join(parts), parts[2])
    try:
        document = json.loads(printed)
    except ValueError:
        return Received(printed.encode(), printed, printed)
    text = "\n".join(_strings(document))
    return Received(printed.encode(), text, text, document)


def test_every_channel_ships_digest_templates() -> None:
    registry = PluginRegistry()
    missing = []
    for name in registry.load_all(strict=False):
        names = [t.name for t in packaged_templates(registry, name)]
        if name == "console":
            names = [t.name for t in packaged_templates(registry, "tocsin")]
        if not any("/digest." in n for n in names):
            missing.append(name)
    assert not missing, f"channels without a <folder>/digest.<part>.j2 template: {missing}"


@pytest.mark.parametrize("corpus", ["hostile", "long_links"])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_a_digest_of_500_events_through_every_channel(
    case: ChannelCase, corpus: str, servers: Servers, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    target = {"name": "under-test", "channel": case.channel, **case.options(servers.local)}
    settings = {"timeout": 10.0, "max_retries": 0, "attachment_dir": str(tmp_path / "attachments")}
    config = write_config(tmp_path / "tocsin.toml", {"notifications": settings, "targets": [target]})
    digest = digest_of_500(corpus)
    capsys.readouterr()
    with Notifier.from_file(config) as notifier:
        message = notifier.render("under-test", digest)
        http_before, smtp_before = len(servers.http.requests), len(servers.smtp.messages)
        receipt = notifier.notify(digest)["under-test"]
        assert receipt.outcome is Outcome.DELIVERED, receipt.error
    got = received(servers, http_before, smtp_before, capsys.readouterr().out)
    text = html.unescape(got.text)

    assert "500 notifications in the last 5 minutes" in " ".join(text.split()), text[:500]
    listed = sorted({int(n) for n in re.findall(r"https://ci\.example/runs/(\d+)", text)})
    assert listed and listed == list(range(1, listed[-1] + 1)), f"the listed links are not the first events: {listed}"
    for index in listed:  # whole: no limit cut into a listed event's link
        assert link(index, corpus).replace("&", "&amp;") in got.text or link(index, corpus) in text, (
            f"link {index} was cut"
        )
    mores = {int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) more\b", text)}
    if isinstance(got.document, dict) and isinstance(got.document.get("digest"), dict):  # a JSON document
        mores.add(got.document["digest"]["omitted"])
    assert mores == {TOTAL - (listed[-1] + 1)}, f"{len(listed) + 1} listed, but it says {mores} more"
    assert "javascript:" not in text
    assert not _CONTROL.search(got.text), "a control character got through"
    for raw in FORBIDDEN.get(case.id, ()):
        assert raw not in got.markup, f"{raw!r} reached {case.channel} as written"
    if got.document is not None and isinstance(got.document, dict):
        assert "injected" not in got.document
    spec = PluginRegistry().channel(case.channel).spec
    assert not violations(spec.limits, message.to_dict(), got.wire)
