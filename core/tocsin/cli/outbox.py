"""``tocsin outbox …``: look into a durable outbox and act on it (list, show, retry, purge, stats, drain).

Every command reads ``[delivery] store`` from the config; with the memory store there is nothing to
look at (it lives inside a running process). Rows are named by their id (``tocsin outbox list`` shows
it) or by their key ``<event id>:<target>``. Errors shown are the stored ones, already redacted.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

import click

from ..delivery import DEAD, DELIVERED, PENDING, Delivery, Outbox, parse_duration
from ..delivery.policy import format_duration
from ..delivery.stores import HELD, MERGED, STATES, lane_of
from ..notifier import Notifier
from .common import EXIT_OK, config_option, fail, open_notifier

__all__ = ["outbox"]

EXIT_PENDING = 75
HOLDS = {"rate_limit": "rate limit", "quiet_hours": "quiet hours"}


def _durable(config: str | None) -> tuple[Notifier, Outbox]:
    notifier = open_notifier(config)
    if not notifier.config.delivery.durable:
        fail(
            f'{notifier.config.label}: [delivery] store is "memory": no outbox outlives a process to look at '
            '(set store = "sqlite:///outbox.db")'
        )
    return notifier, notifier.store


def _when(at: float) -> str:
    delta = at - time.time()
    return "now" if delta <= 0 else f"in {format_duration(delta)}"


def _line(row: Delivery) -> str:
    parts = [f"{row.id:>6}", f"{row.state:<9}", row.target, row.message.event_type, row.event_id]
    parts.append(f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}")
    if row.last_status is not None:
        parts.append(f"HTTP {row.last_status}")
    if row.state == PENDING:
        parts.append(f"next {_when(row.next_at)}")
    if row.state == HELD:
        until = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.next_at))
        parts.append(f"held until {until} ({_when(row.next_at)}; {HOLDS.get(row.hold or '', 'grouped')})")
    if row.note:
        parts.append(row.note)
    if row.last_error and row.state != DELIVERED:
        parts.append(f"— {row.last_error}")
    return "  ".join(parts)


def _summary(row: Delivery) -> dict[str, object]:
    data = row.to_dict()
    data.pop("message")
    return data


@click.group()
def outbox() -> None:
    """Inspect and manage the durable outbox ([delivery] store = "sqlite:///…")."""


@outbox.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only rows in this state.")
@click.option("--target", help="Only rows of this target.")
@click.option("--limit", default=100, show_default=True, help="At most this many rows, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
def list_(state: str | None, target: str | None, limit: int, as_json: bool, config: str | None) -> None:
    """List deliveries, newest first: id, state, target, event, attempts, last status, next attempt, error.

    Noise control's rows: ``held`` (waiting for a digest: until when, and why), ``merged`` (into which
    digest); ``--state held`` shows what waits."""
    _, store = _durable(config)
    rows = store.rows(state=state, target=target, limit=limit)
    if as_json:
        click.echo(json.dumps([_summary(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        for row in rows:
            click.echo(_line(row))
        if not rows:
            click.echo("no deliveries", err=True)
    sys.exit(EXIT_OK)


@outbox.command()
@click.argument("row_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
def show(row_id: str, as_json: bool, config: str | None) -> None:
    """Show one delivery (by id, or by key <event id>:<target>) with its stored message."""
    _, store = _durable(config)
    row = store.status(row_id)
    if row is None:
        fail(f"outbox {store.label}: no delivery {row_id!r} (see tocsin outbox list)")
    if as_json:
        click.echo(json.dumps(row.to_dict(), ensure_ascii=False, indent=2))
        sys.exit(EXIT_OK)
    for name, value in _summary(row).items():
        if name in ("created_at", "updated_at", "next_at", "lease_until") and value is not None:
            value = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(value)))  # type: ignore[arg-type]
        click.echo(f"{name}: {value}")
    click.echo("message:")
    click.echo(json.dumps(row.message.to_dict(), ensure_ascii=False, indent=2))
    sys.exit(EXIT_OK)


@outbox.command()
@click.argument("row_ids", nargs=-1, metavar="ID…")
@click.option("--all-dead", is_flag=True, help="Every dead delivery.")
@config_option
def retry(row_ids: Sequence[str], all_dead: bool, config: str | None) -> None:
    """Make dead deliveries pending again, due now (their retry schedule starts over)."""
    if not row_ids and not all_dead:
        fail("name delivery ids (tocsin outbox list --state dead) or use --all-dead")
    _, store = _durable(config)
    for row_id in row_ids:
        row = store.status(row_id)
        if row is None:
            fail(f"outbox {store.label}: no delivery {row_id!r}")
        if row.state != DEAD:
            fail(f"delivery {row_id} is {row.state}, not dead: only dead deliveries are retried")
    count = store.retry(list(row_ids), all_dead=all_dead)
    click.echo(f"{count} deliver{'y' if count == 1 else 'ies'} pending again; a running notifier or worker sends them")
    sys.exit(EXIT_OK)


@outbox.command()
@click.option("--older-than", "older_than", required=True, metavar="AGE", help="Like 7d, 12h, 30m.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES),
    help="Only rows in this state (repeatable; default delivered, dead and merged).",
)
@config_option
def purge(older_than: str, states: Sequence[str], config: str | None) -> None:
    """Delete finished deliveries last updated more than AGE ago (a delivered row is the record that stops a
    replayed event id from being sent again: keep them as long as replays may come)."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        fail(f"--older-than: {exc}")
    _, store = _durable(config)
    count = store.purge(age, tuple(states) or (DELIVERED, DEAD, MERGED))
    click.echo(f"purged {count} deliver{'y' if count == 1 else 'ies'}")
    sys.exit(EXIT_OK)


@outbox.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
def stats(as_json: bool, config: str | None) -> None:
    """Count deliveries per target and state."""
    _, store = _durable(config)
    counts = store.stats()
    totals = {state: sum(per.get(state, 0) for per in counts.values()) for state in STATES}
    if as_json:
        click.echo(json.dumps({"store": store.label, "targets": counts, "total": totals}, indent=2))
        sys.exit(EXIT_OK)
    width = max([len(name) for name in counts] + [6])
    click.echo(f"{'target':<{width}}  " + "  ".join(f"{s:>9}" for s in STATES))
    for name, per in sorted(counts.items()):
        click.echo(f"{name:<{width}}  " + "  ".join(f"{per.get(s, 0):>9}" for s in STATES))
    click.echo(f"{'total':<{width}}  " + "  ".join(f"{totals[s]:>9}" for s in STATES))
    sys.exit(EXIT_OK)


@outbox.command()
@click.option("--timeout", default=600.0, show_default=True, help="Give up after this many seconds.")
@config_option
def drain(timeout: float, config: str | None) -> None:
    """Attempt every pending delivery now, whatever its next attempt time, taking over the leases of
    processes that died. Exit 0 when nothing is left pending, 75 when some is (it failed again and waits)."""
    notifier, store = _durable(config)
    before = store.stats()
    finished = notifier.drain(timeout)
    notifier.close(timeout=5)
    after = _reopen_stats(notifier)
    delta = {s: sum(p.get(s, 0) for p in after.values()) - sum(p.get(s, 0) for p in before.values()) for s in STATES}
    pending = {name: per.get(PENDING, 0) for name, per in after.items() if per.get(PENDING, 0)}
    click.echo(f"drained: {delta[DELIVERED]} delivered, {delta[DEAD]} dead, {sum(pending.values())} still pending")
    known = {lane_of(name) for name in pending} - {t.name for t in notifier.targets}
    if known:
        click.echo(f"  pending for targets not in this config: {', '.join(sorted(known))}", err=True)
    if not finished:
        click.echo(f"  stopped after --timeout {timeout:g}s", err=True)
    sys.exit(EXIT_PENDING if pending else EXIT_OK)


def _reopen_stats(notifier: Notifier) -> dict[str, dict[str, int]]:
    from ..delivery import open_store

    store = open_store(notifier.config.delivery.store)
    try:
        return store.stats()
    finally:
        store.close()
