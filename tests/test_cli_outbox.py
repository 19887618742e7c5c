"""``tocsin outbox list/show/retry/purge/stats`` on a real SQLite outbox, run as a user would."""

from __future__ import annotations

import json

from tocsin.testing import HttpSink, Reply
from tocsin.testing.toml import write_config

from .conftest import run_cli

SECRET = "SECRET-PATH-55555"


def setup(tmp_path, url, **delivery):
    return write_config(
        tmp_path / "tocsin.toml",
        {
            "notifications": {"retry_backoff_max": 1},
            "delivery": {"store": "sqlite:///outbox.db", "retry_schedule": [0.01], **delivery},
            "targets": [{"name": "hook", "channel": "testchan", "url": f"{url}/{SECRET}"}],
        },
    )


def test_dead_deliveries_are_listed_shown_retried_and_purged(tmp_path, plugin_site):
    def cli(*args):
        return run_cli(*args, "--config", str(path), cwd=tmp_path, site=plugin_site)

    with HttpSink(default=Reply(500, f"no {SECRET} here")) as sink:
        path = setup(tmp_path, sink.url)
        failed = cli("send", "job_failed", "-d", "run_name=nightly")
        assert failed.returncode == 1
        assert "gave up after 2 attempts: the retry schedule is spent" in failed.stderr

        listed = cli("outbox", "list", "--json")
        (row,) = json.loads(listed.stdout)
        assert (row["state"], row["target"], row["attempts"], row["last_status"]) == ("dead", "hook", 2, 500)
        shown = cli("outbox", "show", str(row["id"]))
        assert "state: dead" in shown.stdout and "nightly" in shown.stdout
        by_key = cli("outbox", "show", f"{row['event_id']}:hook", "--json")
        assert json.loads(by_key.stdout)["id"] == row["id"]

        sink.default = Reply(204)
        assert "1 delivery pending again" in cli("outbox", "retry", str(row["id"])).stdout
        drained = cli("outbox", "drain")
        assert drained.returncode == 0 and "1 delivered" in drained.stdout
        assert cli("outbox", "retry", str(row["id"])).returncode == 2  # not dead any more
        stats = json.loads(cli("outbox", "stats", "--json").stdout)
        assert stats["targets"]["hook"] == {"pending": 0, "held": 0, "delivered": 1, "dead": 0, "merged": 0}
        assert "purged 0 deliveries" in cli("outbox", "purge", "--older-than", "7d").stdout
        assert "purged 1 delivery" in cli("outbox", "purge", "--older-than", "0s").stdout
        assert cli("outbox", "list").stderr.strip() == "no deliveries"
        for text in (listed.stdout, shown.stdout, failed.stderr, drained.stdout):
            assert SECRET not in text


def test_outbox_commands_need_a_durable_store(tmp_path):
    path = write_config(tmp_path / "tocsin.toml", {"targets": [{"name": "c", "channel": "console"}]})
    result = run_cli("outbox", "stats", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2 and '[delivery] store is "memory"' in result.stderr
    result = run_cli("worker", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "a worker needs a durable store" in result.stderr
    assert run_cli("outbox", "purge", "--older-than", "soon", "--config", str(path), cwd=tmp_path).returncode == 2


def test_retry_all_dead(tmp_path, plugin_site):
    with HttpSink(default=Reply(404)) as sink:
        path = setup(tmp_path, sink.url)
        for _ in range(3):
            run_cli("send", "job_failed", "--config", str(path), cwd=tmp_path, site=plugin_site)
        result = run_cli("outbox", "retry", "--all-dead", "--config", str(path), cwd=tmp_path, site=plugin_site)
    assert result.returncode == 0 and "3 deliveries pending again" in result.stdout
