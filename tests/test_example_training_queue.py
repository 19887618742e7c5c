"""examples/training-queue: the exact 13-field webhook body, and the queue's flat switches (master,
per channel, per event) as tocsin.toml keys, against a local HTTP server and SMTP server (STARTTLS + AUTH)."""

from __future__ import annotations

import pytest

from tocsin import Event, Notifier, Outcome
from tocsin.testing.smtp import SmtpSink

from .examples import copy_example

pytest.importorskip("tocsin_discord")
pytest.importorskip("tocsin_email")
pytest.importorskip("tocsin_webhook")

FIELDS = [
    "type",
    "run_id",
    "run_name",
    "status",
    "last_step",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "dataset_url",
    "lora_url",
    "instance_label",
    "instance_url",
]
RUN = {
    "run_id": "run-7",
    "run_name": "lora-sdxl-cats",
    "status": "completed",
    "last_step": "step 3000/3000",
    "created_at": "2026-12-03T08:00:00Z",
    "started_at": "2026-12-03T08:05:00Z",
    "finished_at": "2026-12-03T09:05:00Z",
    "dataset_url": "https://data.example.org/cats",
    "lora_url": "https://models.example.org/lora-sdxl-cats.safetensors",
}


@pytest.fixture
def smtp():
    pytest.importorskip("aiosmtpd")
    with SmtpSink(starttls=True, require_starttls=True, user="queue", password="Smtp-Pass-Secret-12") as sink:
        yield sink


@pytest.fixture
def example(monkeypatch, tmp_path, tocsin_http_sink, smtp):
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", f"{tocsin_http_sink.url}/discord")
    monkeypatch.setenv("WEBHOOK_URL", f"{tocsin_http_sink.url}/hook")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_USER", "queue")
    monkeypatch.setenv("SMTP_PASSWORD", "Smtp-Pass-Secret-12")
    local_smtp = {"port = 587": f'port = {smtp.port}\nca_file = "{smtp.ca_file}"'}  # the local server, its CA

    def open_with(**switches: str) -> Notifier:
        replace = dict(local_smtp)
        replace.update(switches)
        return Notifier.from_file(
            copy_example("training-queue", tmp_path / str(len(list(tmp_path.iterdir()))), replace) / "tocsin.toml"
        )

    return open_with


def test_a_finished_run_everywhere_with_the_13_field_body(example, tocsin_http_sink, smtp):
    with example() as notifier:
        report = notifier.notify(Event("job_completed", data=RUN))
    assert [(r.target, r.outcome) for r in report.receipts] == [
        ("discord", Outcome.DELIVERED),
        ("email", Outcome.DELIVERED),
        ("webhook", Outcome.DELIVERED),
    ]
    body = next(r for r in tocsin_http_sink.requests if r.path == "/hook").json()
    assert list(body) == FIELDS
    assert body == {
        "type": "job_completed",
        **RUN,
        "error": None,
        "instance_label": "gpu-box-1",
        "instance_url": "https://queue.example.org",
    }
    mail = smtp.wait_for(1)[0]
    assert mail.tls and mail.login == "queue" and mail.rcpt_tos == ["ml-team@example.org"]


def test_the_flat_switches(example, tocsin_http_sink, smtp):
    off = {"[notifications]\nenabled = true": "[notifications]\nenabled = false"}  # notifications_enabled
    with example(**off) as notifier:
        report = notifier.notify(Event("job_failed", data={**RUN, "error": "NaN loss"}))
        assert not report.delivered and {r.reason for r in report.receipts} == {"notifications disabled"}
    no_discord = {
        'channel = "discord"\nenabled = true': 'channel = "discord"\nenabled = false'
    }  # notify_channel_discord
    with example(**no_discord) as notifier:
        report = notifier.notify(Event("job_failed", data={**RUN, "error": "NaN loss"}))
        assert report["discord"].reason == "target disabled"
        assert [r.target for r in report.delivered] == ["email", "webhook"]
    no_finish = {
        "[events.job_completed]\nenabled = true": "[events.job_completed]\nenabled = false"
    }  # notify_job_finish
    with example(**no_finish) as notifier:
        done = notifier.notify(Event("job_completed", data=RUN))
        assert not done.delivered
        assert done["webhook"].reason == "event type job_completed disabled by [events.job_completed]"
        failed = notifier.notify(Event("job_failed", data={**RUN, "status": "failed", "error": "NaN loss"}))
        assert len(failed.delivered) == 3  # notify_job_fail is still on
    paths = [r.path.split("?")[0] for r in tocsin_http_sink.requests]
    assert paths.count("/discord") == 1 and paths.count("/hook") == 2
    assert next(r for r in tocsin_http_sink.requests if r.path == "/hook").json()["error"] == "NaN loss"


def test_the_test_button(example, tocsin_http_sink):
    with example() as notifier:
        assert notifier.test("discord").ok
    assert [r.path.split("?")[0] for r in tocsin_http_sink.requests] == ["/discord"]
