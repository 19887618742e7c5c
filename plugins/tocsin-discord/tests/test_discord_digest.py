"""A digest (tocsin.digest_event) as Discord gets it: one embed, a field per listed event with its link."""

from __future__ import annotations

from tocsin import sample_digest


def discord_target(sink, **keys):
    return {"name": "team-discord", "channel": "discord", "url": sink.url + "/api/webhooks/1/token", **keys}


def test_a_digest_is_one_embed_with_a_field_per_event_and_the_rest_counted(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([discord_target(tocsin_http_sink)])
    assert notifier.notify(sample_digest("group", count=12)).ok

    body = tocsin_http_sink.last.json()
    embed = body["embeds"][0]
    assert embed["title"] == "❌ 12 jobs failed in the last 5 minutes"
    assert embed["description"].startswith("**Events:** 12 (12 failures)\n**Listed:** the first 10, and 2 more\n")
    assert "**Type:** job\\_failed" in embed["description"]
    listed, more = embed["fields"][:-1], embed["fields"][-1]
    assert [f["name"] for f in listed] == [f"❌ Job failed: nightly-etl #{i}" for i in range(1, 11)]
    assert listed[0]["value"].endswith("\n[Open](https://example.org/runs/run-0001)")
    assert more == {"name": "…", "value": "and 2 more", "inline": False}
    assert body["allowed_mentions"] == {"parse": []}


def test_a_deployment_digest_template_wins_and_can_extend_the_packaged_one(
    tocsin_http_sink, tocsin_make_notifier, tmp_path
):
    override = tmp_path / "notify-templates" / "discord" / "digest.json.j2"
    override.parent.mkdir(parents=True)
    override.write_text(
        '{% extends "discord:discord/digest.json.j2" %}\n'
        '{% block description %}\n      "description": {{ "Runbook: https://wiki.example/noise (" ~ digest.count ~ " events)" }},\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    notifier = tocsin_make_notifier(
        [discord_target(tocsin_http_sink)], notifications={"template_dirs": [str(override.parent.parent)]}
    )
    assert notifier.notify(sample_digest("quiet_hours", count=3)).ok

    embed = tocsin_http_sink.last.json()["embeds"][0]
    assert embed["description"] == "Runbook: https://wiki.example/noise (3 events)"
    assert len(embed["fields"]) == 3  # the packaged digest's fields, kept by the extending override
    assert embed["title"] == "❌ 3 notifications held during quiet hours (2 failures, 1 success)"
