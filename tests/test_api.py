"""The Python API: Notifier from a file or from classes, notify/anotify/test/close, source defaults."""

from __future__ import annotations

import json
import threading

from tocsin import Config, Event, Message, Notifier, Outcome, Settings, Target, sample_event


def test_notify_from_a_config_file(testchan, tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "hook", "channel": "testchan", "url": tocsin_http_sink.url, "label": "ops"}],
        source={"instance": "prod-scheduler"},
    )
    report = notifier.notify(Event("job_failed", data={"run_name": "nightly", "error": "disk full", "duration": 75}))
    assert report.ok and report["hook"].status_code == 200
    body = tocsin_http_sink.last.json()
    assert body["title"] == "❌ Job failed: nightly"
    assert body["error"] == "disk full"
    assert {"name": "Duration", "value": "1m 15s"} in body["fields"]
    assert body["label"] == "ops"


def test_notify_from_classes_and_from_threads(testchan, tocsin_http_sink):
    config = Config(settings=Settings(timeout=2), targets=[Target("hook", "testchan", {"url": tocsin_http_sink.url})])
    with Notifier(config) as notifier:
        reports = []
        threads = [
            threading.Thread(target=lambda: reports.append(notifier.notify(Event("job_completed")))) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(reports) == 4 and all(r.ok for r in reports)
    assert len(tocsin_http_sink.requests) == 4


def test_test_sends_a_sample_whatever_the_rules(testchan, tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "hook", "channel": "testchan", "url": tocsin_http_sink.url, "events": ["never"]}]
    )
    report = notifier.test("hook")
    assert report["hook"].outcome is Outcome.DELIVERED
    body = tocsin_http_sink.last.json()
    assert body["title"] == "✅ tocsin test notification: this target works"
    assert any(f["name"] == "Run" for f in body["fields"])


def test_config_source_fills_event_source(tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "c", "channel": "console", "format": "json"}], source={"instance": "prod", "url": "https://p"}
    )
    body = notifier.render("c", Event("job_failed", source={"url": "https://own"})).body
    assert body["source"]["instance"] == "prod" and body["source"]["url"] == "https://own"


def test_message_is_plain_serializable_data(testchan, tocsin_make_notifier):
    notifier = tocsin_make_notifier([{"name": "hook", "channel": "testchan", "url": "http://127.0.0.1:9/SECRETPATH"}])
    message = notifier.render("hook", sample_event("job_failed"))
    data = message.to_dict()
    text = json.dumps(data)
    assert "SECRETPATH" not in text
    assert Message.from_dict(json.loads(text)) == message


def test_console_channel_writes_stdout(tocsin_make_notifier, capfd):
    notifier = tocsin_make_notifier([{"name": "c", "channel": "console"}])
    report = notifier.notify(Event("backup_completed", data={"backup_name": "db", "size": 2048}))
    assert report.ok
    out = capfd.readouterr().out
    assert "✅ Backup completed: db" in out and "2.0 KiB" in out


def test_every_public_name_imports_and_import_tocsin_stays_light():
    """`from tocsin import X` works for every name in __all__ (they load on first use), and a bare
    `import tocsin` (a host that may never notify) does not import the HTTP stack, Jinja or asyncio."""
    import subprocess
    import sys

    import tocsin

    assert {name: getattr(tocsin, name) is not None for name in tocsin.__all__} == dict.fromkeys(tocsin.__all__, True)
    assert tocsin.__version__ and "Notifier" in dir(tocsin)
    probe = "import sys, tocsin; print(sorted(m for m in ('httpx', 'aiohttp', 'jinja2', 'asyncio') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
