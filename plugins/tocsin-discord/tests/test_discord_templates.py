"""Deployments override the packaged templates by file name; the plugin's guarantees survive any override."""

from __future__ import annotations

import re

from tocsin import Outcome, sample_event

ROLE = "123456789012345678"


def target(sink, **options):
    return {"name": "team-discord", "channel": "discord", "url": f"{sink.url}/api/webhooks/42/tok3n", **options}


def write_template(folder, name, text):
    path = folder / "discord" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return folder


def test_a_default_json_j2_in_template_dirs_wins(tmp_path, tocsin_make_notifier, tocsin_http_sink):
    overrides = write_template(
        tmp_path / "notify-templates",
        "default.json.j2",
        '{"content": {{ "[ops] " ~ title }}, "embeds": [{"title": {{ title }}, "color": {{ color_int }}}]}',
    )
    notifier = tocsin_make_notifier([target(tocsin_http_sink)], notifications={"template_dirs": [str(overrides)]})
    assert notifier.notify(sample_event("backup_failed")).ok  # no packaged backup_failed template: default
    body = tocsin_http_sink.last.json()
    assert body["content"] == "[ops] Backup failed: nightly-etl"
    assert body["embeds"] == [{"title": "Backup failed: nightly-etl", "color": 0xE01E5A}]
    assert body["allowed_mentions"] == {"parse": []}  # still added by the plugin
    # the deployment's default also replaces the packaged event-specific layouts (job_failed, …)
    assert notifier.notify(sample_event("job_failed")).ok
    assert tocsin_http_sink.last.json()["content"] == "[ops] Job failed: nightly-etl"


def test_an_event_specific_override_replaces_only_that_event(tmp_path, tocsin_make_notifier, tocsin_http_sink):
    overrides = write_template(
        tmp_path / "notify-templates", "job_failed.json.j2", '{"content": {{ "FAILED: " ~ data.run_name }}}'
    )
    notifier = tocsin_make_notifier([target(tocsin_http_sink)], notifications={"template_dirs": [str(overrides)]})
    assert notifier.notify(sample_event("job_failed")).ok
    assert tocsin_http_sink.last.json() == {"content": "FAILED: nightly-etl", "allowed_mentions": {"parse": []}}
    assert notifier.notify(sample_event("job_completed")).ok
    assert tocsin_http_sink.last.json()["embeds"][0]["title"] == "✅ Job completed: nightly-etl"  # packaged


def test_an_override_can_extend_the_packaged_template_and_replace_one_block(
    tmp_path, tocsin_make_notifier, tocsin_http_sink
):
    overrides = write_template(
        tmp_path / "notify-templates",
        "default.json.j2",
        '{% extends "discord:discord/default.json.j2" %}\n'
        "{% block fields %}\n"
        '        {"name": "Owner", "value": {{ data.owner | discord_escape }}, "inline": false}\n'
        "{% endblock %}\n",
    )
    notifier = tocsin_make_notifier([target(tocsin_http_sink)], notifications={"template_dirs": [str(overrides)]})
    assert notifier.notify(sample_event("backup_completed", data={"owner": "data_team"})).ok
    embed = tocsin_http_sink.last.json()["embeds"][0]
    assert embed["title"] == "✅ Backup completed: nightly-etl"  # from the packaged template
    assert embed["fields"] == [{"name": "Owner", "value": "data\\_team", "inline": False}]


def test_a_targets_own_template_dir_is_searched_before_the_packaged_one(
    tmp_path, tocsin_make_notifier, tocsin_http_sink
):
    own = write_template(tmp_path / "mine", "default.json.j2", '{"content": {{ "mine: " ~ type }}}')
    notifier = tocsin_make_notifier([target(tocsin_http_sink, template_dir=str(own))])
    assert notifier.notify(sample_event("user_login")).ok
    assert tocsin_http_sink.last.json()["content"] == "mine: user_login"


def test_no_override_can_break_the_limits_or_allow_mass_mentions(tmp_path, tocsin_make_notifier, tocsin_http_sink):
    # A template that tries everything: 12 embeds, 30 huge fields each, every text over its limit,
    # its own allowed_mentions, and @everyone in the content.
    overrides = write_template(
        tmp_path / "notify-templates",
        "default.json.j2",
        """{
  "content": {{ "@everyone @here " ~ ("c" * 5000) }},
  "allowed_mentions": {"parse": ["everyone", "roles", "users"]},
  "embeds": [
{% for i in range(12) %}
    {"title": {{ "t" * 1000 }}, "description": {{ "d" * 10000 }}, "color": "#ECB22E",
     "footer": {"text": {{ "f" * 5000 }}}, "author": {"name": {{ "a" * 1000 }}},
     "fields": [
{% for j in range(30) %}
       {"name": {{ "n" * 500 }}, "value": {{ "v" * 5000 }}}{% if not loop.last %},{% endif %}

{% endfor %}
     ]}{% if not loop.last %},{% endif %}

{% endfor %}
  ]
}""",
    )
    notifier = tocsin_make_notifier(
        [target(tocsin_http_sink, mention=f"role:{ROLE}")], notifications={"template_dirs": [str(overrides)]}
    )
    assert notifier.notify(sample_event("backup_failed")).ok
    body = tocsin_http_sink.last.json()
    assert body["allowed_mentions"] == {"parse": [], "roles": [ROLE]}
    assert body["content"].startswith(f"<@&{ROLE}> @\u200beveryone @\u200bhere ccc") and body["content"].endswith("…")
    assert len(body["content"]) == 2000
    embeds = body["embeds"]
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        assert embed["color"] == 0xECB22E  # a hex string became the integer Discord wants
        for key, limit in (("title", 256), ("description", 4096)):
            if key in embed:
                assert len(embed[key]) <= limit and embed[key].endswith("…")
                total += len(embed[key])
        assert len(embed["footer"]["text"]) <= 2048 and len(embed["author"]["name"]) <= 256
        total += len(embed["footer"]["text"]) + len(embed["author"]["name"])
        assert len(embed.get("fields", [])) <= 25
        for field in embed.get("fields", []):
            assert len(field["name"]) <= 256 and len(field["value"]) <= 1024
            total += len(field["name"]) + len(field["value"])
    assert total <= 6000
    # What was left out is said, not silently dropped.
    shown = [f["value"] for e in embeds for f in e.get("fields", [])]
    assert any(re.fullmatch(r"\d+ more fields? not shown", value) for value in shown)


def test_a_template_that_renders_no_object_fails_that_target_with_a_clear_error(
    tmp_path, tocsin_make_notifier, tocsin_http_sink
):
    overrides = write_template(tmp_path / "notify-templates", "default.json.j2", "[{{ title }}]")
    notifier = tocsin_make_notifier([target(tocsin_http_sink)], notifications={"template_dirs": [str(overrides)]})
    receipt = notifier.notify(sample_event("backup_failed"))["team-discord"]
    assert receipt.outcome is Outcome.FAILED
    assert "discord template for 'backup_failed' must render a JSON object, got list" in receipt.error
    assert tocsin_http_sink.requests == []


def test_a_template_with_nothing_to_send_fails_clearly(tmp_path, tocsin_make_notifier, tocsin_http_sink):
    overrides = write_template(tmp_path / "notify-templates", "default.json.j2", '{"content": "   ", "embeds": []}')
    notifier = tocsin_make_notifier([target(tocsin_http_sink)], notifications={"template_dirs": [str(overrides)]})
    receipt = notifier.notify(sample_event("backup_failed"))["team-discord"]
    assert receipt.outcome is Outcome.FAILED
    assert "rendered neither content nor embeds" in receipt.error
