"""The event model: severity from the type, titles, users, the catalogue, custom types."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tocsin import EVENT_TYPES, Event, Severity, severity_for
from tocsin.events import User

CATALOGUE = [
    "job_submitted",
    "job_started",
    "job_completed",
    "job_failed",
    "job_cancelled",
    "job_timeout",
    "job_held",
    "job_released",
    "queue_finished",
    "backup_started",
    "backup_completed",
    "backup_failed",
    "restore_started",
    "restore_completed",
    "restore_failed",
    "user_login",
    "user_created",
    "system_error",
    "scheduler_online",
    "run_start",
    "run_end",
    "run_failure",
    "apply_start",
    "apply_end",
    "apply_failure",
    "audit_failure",
]


def test_catalogue_covers_the_documented_lifecycle():
    assert set(CATALOGUE) <= set(EVENT_TYPES)
    for name, entry in EVENT_TYPES.items():
        assert entry.name == name and entry.description


@pytest.mark.parametrize(
    ("event_type", "severity"),
    [
        ("job_failed", Severity.FAILURE),
        ("job_timeout", Severity.FAILURE),
        ("run_failure", Severity.FAILURE),
        ("job_completed", Severity.SUCCESS),
        ("job_cancelled", Severity.WARNING),
        ("user_login", Severity.INFO),
        # custom types: by suffix
        ("export_failed", Severity.FAILURE),
        ("nightly_sync_failure", Severity.FAILURE),
        ("deploy_timeout", Severity.FAILURE),
        ("deploy_succeeded", Severity.SUCCESS),
        ("disk_warning", Severity.WARNING),
        ("cache_warmed", Severity.INFO),
    ],
)
def test_severity_is_derived_from_the_type(event_type, severity):
    assert severity_for(event_type) is severity
    assert Event(event_type).severity is severity


def test_explicit_severity_wins_and_is_validated():
    assert Event("job_failed", severity="warning").severity is Severity.WARNING
    with pytest.raises(ValueError, match="severity must be one of"):
        Event("job_failed", severity="bad")


def test_defaults_id_time_title():
    event = Event("job_failed", data={"run_name": "nightly"})
    assert event.title == "Job failed: nightly"
    assert len(event.id) == 36
    assert event.occurred_at.tzinfo is not None
    assert abs(event.occurred_at - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert Event("job_failed").id != Event("job_failed").id


def test_occurred_at_is_normalised_to_utc_and_naive_is_refused():
    cet = timezone(timedelta(hours=1))
    event = Event("job_failed", occurred_at=datetime(2026, 1, 1, 12, 0, tzinfo=cet))
    assert event.occurred_at == datetime(2026, 1, 1, 11, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="timezone-aware"):
        Event("job_failed", occurred_at=datetime(2026, 1, 1, 12, 0))


def test_type_must_be_snake_case():
    with pytest.raises(ValueError, match="snake_case"):
        Event("Job Failed")


def test_user_from_string_or_mapping():
    assert Event("user_login", user="ada@example.org").user == User(email="ada@example.org")
    assert Event("user_login", user="ada").user == User(name="ada")
    user = Event("user_login", user={"name": "Ada", "email": "ada@example.org"}).user
    assert user.matches("ADA@example.org") and user.matches("ada") and not user.matches("bob")


def test_recipients_and_source():
    event = Event("job_failed", recipients=["a@example.org"], source={"instance": "prod", "url": "https://x"})
    assert event.recipients == ("a@example.org",)
    assert event.source.instance == "prod"
    assert event.source.host  # filled with the host name
