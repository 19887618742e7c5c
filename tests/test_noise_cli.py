"""Noise control from the command line: each ``tocsin send`` is its own process, so de-duplication and rate
limits hold through the durable outbox; ``tocsin outbox list --state held`` shows what waits, ``tocsin
render --digest`` previews a digest. Real subprocesses, a real SQLite file, a real HTTP sink."""

from __future__ import annotations

import json

import pytest

from tocsin.testing import HttpSink
from tocsin.testing.toml import write_config

from .conftest import run_cli

SECRET = "noiseCliSecret77"

pytest.importorskip("tocsin_webhook")  # the targets here are webhooks; the core's own sdist has no plugin


def setup(tmp_path, url, delivery=None, **keys):
    return write_config(
        tmp_path / "tocsin.toml",
        {
            "delivery": {"store": "sqlite:///outbox.db", **(delivery or {})},
            "targets": [{"name": "hook", "channel": "webhook", "url": f"{url}/{SECRET}", **keys}],
        },
    )


def test_the_same_run_sent_by_two_processes_is_sent_once(tmp_path):
    with HttpSink() as sink:
        path = setup(tmp_path, sink.url, dedup_window="10m")
        first = run_cli("send", "job_failed", "-d", "run_id=42", "--config", str(path), cwd=tmp_path)
        second = run_cli(
            "send", "job_failed", "-d", "run_id=42", "--json-report", "-", "--config", str(path), cwd=tmp_path
        )
        assert first.returncode == 0 and second.returncode == 0, second.stderr
        report = json.loads(second.stdout)
        (receipt,) = report["receipts"]
        assert receipt["outcome"] == "skipped" and receipt["reason"].startswith("duplicate of ")
        assert "duplicate of" in second.stderr
        assert len(sink.requests) == 1
        critical = run_cli("send", "job_failed", "-d", "run_id=42", "--critical", "--config", str(path), cwd=tmp_path)
        assert critical.returncode == 0 and "delivered" in critical.stderr  # critical bypasses de-duplication
        assert len(sink.requests) == 2


def test_a_rate_limited_send_is_held_exits_0_and_is_listed_until_drained(tmp_path):
    with HttpSink() as sink:
        path = setup(tmp_path, sink.url, rate_limit="1/1h")

        def cli(*args):
            return run_cli(*args, "--config", str(path), cwd=tmp_path)

        assert cli("send", "job_failed", "-d", "run_id=1").returncode == 0
        held = [cli("send", "job_failed", "-d", f"run_id={i}") for i in (2, 3)]
        assert [p.returncode for p in held] == [0, 0]  # held is accounted for, not a failure
        assert all("held until" in p.stderr and "rate limit 1/1h" in p.stderr for p in held)
        assert len(sink.requests) == 1

        listed = cli("outbox", "list", "--state", "held")
        lines = listed.stdout.strip().splitlines()
        assert len(lines) == 2 and all("held" in line and "rate limit" in line for line in lines)
        assert SECRET not in listed.stdout + listed.stderr

        drained = cli("outbox", "drain")  # an operator's "send it now": the held ones go as one digest
        assert drained.returncode == 0, drained.stderr
        assert [r.json()["type"] for r in sink.requests] == ["job_failed", "digest"]
        assert sink.requests[1].json()["data"]["count"] == 2
        merged = cli("outbox", "list", "--state", "merged").stdout
        assert merged.count("merged into digest") == 2
        assert cli("outbox", "list", "--state", "held").stdout == ""


def test_a_held_window_that_opens_while_the_process_closes_is_sent_by_it(tmp_path):
    with HttpSink() as sink:
        # a window long enough that the second process starts inside it, even on a loaded machine
        path = setup(tmp_path, sink.url, delivery={"close_timeout": 30}, rate_limit="1/8s")
        assert run_cli("send", "job_failed", "-d", "run_id=1", "--config", str(path), cwd=tmp_path).returncode == 0
        second = run_cli("send", "job_failed", "-d", "run_id=2", "--config", str(path), cwd=tmp_path)
        assert second.returncode == 0 and "held until" in second.stderr
        # the window opened within [delivery] close_timeout: the closing process sent it (a bundle of one)
        assert [r.json()["data"]["run_id"] for r in sink.requests] == ["1", "2"]


def test_render_digest_previews_what_a_target_would_get(tmp_path):
    path = setup(tmp_path, "http://127.0.0.1:9", group_by=["type"])
    shown = run_cli("render", "hook", "job_failed", "--digest", "3", "--config", str(path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "3 jobs failed" in shown.stdout
    as_json = run_cli(
        "render", "hook", "job_failed", "--digest", "3", "--message-json", "--config", str(path), cwd=tmp_path
    )
    body = json.loads(as_json.stdout)["body"]
    assert body["type"] == "digest" and body["data"]["count"] == 3
    assert body["data"]["group"] == {"type": "job_failed"}
    default = run_cli(
        "render",
        "hook",
        "job_failed",
        "--digest",
        "--reason",
        "quiet_hours",
        "--message-json",
        "--config",
        str(path),
        cwd=tmp_path,
    )
    assert json.loads(default.stdout)["body"]["data"]["count"] == 5
    bare = run_cli("render", "hook", "--digest", "--config", str(path), cwd=tmp_path)  # job_failed by default
    assert bare.returncode == 0 and "5 jobs failed" in bare.stdout
    missing = run_cli("render", "hook", "--config", str(path), cwd=tmp_path)
    assert missing.returncode == 2 and "name an EVENT_TYPE" in missing.stderr
