"""examples/gflowd: the webhook body, filter_users, per-job recipients with default events, lettre's
smtp_url (opportunistic TLS, EHLO name), against a local HTTP server and SMTP server."""

from __future__ import annotations

import json

import pytest

from tocsin import Event, Notifier, Outcome

from .conftest import run_cli
from .examples import by_to, copy_example

pytest.importorskip("tocsin_webhook")
pytest.importorskip("tocsin_email")

JOB = {
    "job_id": "1234",
    "job_name": "train-llm",
    "state": "FAILED",
    "queue": "gpu",
    "gpus": 4,
    "exit_code": 137,
    "submitted_at": "2026-12-03T09:00:00Z",
    "started_at": "2026-12-03T09:01:00Z",
    "finished_at": "2026-12-03T10:00:00Z",
    "error": "CUDA out of memory",
}


@pytest.fixture
def env(monkeypatch, tocsin_http_sink, tocsin_smtp_sink):
    values = {
        "GFLOWD_WEBHOOK_URL": f"{tocsin_http_sink.url}/lab",
        "GFLOWD_WEBHOOK_TOKEN": "Lab-Token-Secret-31",
        "ALICE_WEBHOOK_URL": f"{tocsin_http_sink.url}/alice",
        # lettre's syntax: EHLO name in the path, STARTTLS when offered (this local relay offers none).
        "GFLOWD_SMTP_URL": f"smtp://127.0.0.1:{tocsin_smtp_sink.port}/gpu01.example.org?tls=opportunistic",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def notifier(env, tmp_path):
    with Notifier.from_file(copy_example("gflowd", tmp_path) / "tocsin.toml") as notifier:
        yield notifier


def test_webhook_body_headers_and_filter_users(notifier, tocsin_http_sink):
    report = notifier.notify(Event("job_failed", user="alice", data=JOB))
    assert report.ok
    requests = {r.path: r for r in tocsin_http_sink.wait_for(2)}
    body = requests["/lab"].json()
    assert list(body) == ["event", "timestamp", "job", "scheduler"]
    assert body["event"] == "job_failed" and body["timestamp"].endswith("Z")
    assert body["job"] == {
        "id": "1234",
        "name": "train-llm",
        "user": "alice",
        **{
            k: JOB[k]
            for k in ("state", "queue", "gpus", "exit_code", "submitted_at", "started_at", "finished_at", "error")
        },
    }
    assert body["scheduler"]["instance"] == "gflowd" and body["scheduler"]["version"] == "0.9.0"
    assert requests["/lab"].header("authorization") == "Bearer Lab-Token-Secret-31"
    assert requests["/alice"].json()["job"]["user"] == "alice"  # filter_users = ["alice"]
    bob = notifier.notify(Event("job_failed", user="bob", data=JOB))
    assert bob["alice-webhook"].reason == "user bob not in users"
    started = notifier.notify(Event("job_started", user="alice", data=JOB))
    assert started["alice-webhook"].reason == "event job_started not in events"
    assert started["lab-webhook"].outcome is Outcome.DELIVERED  # events = ["*"]


def test_per_job_recipients_with_default_events(notifier, tocsin_smtp_sink):
    owner = {"recipients": ["owner@example.org"]}
    failed = notifier.notify(Event("job_failed", user="alice", data=JOB, **owner))
    assert failed["job-mail/recipients"].outcome is Outcome.DELIVERED
    assert failed["admin-mail"].outcome is Outcome.DELIVERED
    mails = by_to(tocsin_smtp_sink.wait_for(2))
    assert mails[("owner@example.org",)].rcpt_tos == ["owner@example.org"]  # never with the admins
    assert mails[("gpu-admins@example.org",)]["Subject"].startswith("[gflowd] ")
    assert mails[("owner@example.org",)].ehlo == "gpu01.example.org" and not mails[("owner@example.org",)].tls
    # No --notify-on: the default events only (job_started is not one of them).
    started = notifier.notify(Event("job_started", data=JOB, **owner))
    assert started["job-mail/recipients"].reason == "event job_started not in notifications.recipient_events"
    # --notify-on job_started: that job's recipients asked for it.
    asked = notifier.notify(Event("job_started", data=JOB, recipient_events=["job_started"], **owner))
    assert asked["job-mail/recipients"].outcome is Outcome.DELIVERED
    # Job-scoped types only, whatever a job asks for.
    online = notifier.notify(Event("scheduler_online", recipient_events=["*"], **owner))
    assert online["job-mail"].reason == "event scheduler_online not in events"
    assert [r.target for r in online.delivered] == ["lab-webhook", "admin-mail"]
    assert len(tocsin_smtp_sink.wait_for(4)) == 4


def test_route_explains_and_hides_the_token(env, tmp_path, tocsin_http_sink):
    folder = copy_example("gflowd", tmp_path)
    result = run_cli(
        "route", "job_failed", "--user", "alice", "--recipient", "owner@example.org", "--json", cwd=folder, env=env
    )
    assert result.returncode == 0, result.stderr
    routes = {r["target"]: r for r in json.loads(result.stdout)["routes"]}
    assert [name for name, r in routes.items() if r["send"]] == [
        "lab-webhook",
        "alice-webhook",
        "admin-mail",
        "job-mail/recipients",
    ]
    assert "Lab-Token-Secret-31" not in result.stdout + result.stderr
    assert tocsin_http_sink.requests == []
