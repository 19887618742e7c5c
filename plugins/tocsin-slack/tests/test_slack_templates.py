"""A deployment overrides slack/<event>.json.j2 by file name, or extends the packaged template."""

from __future__ import annotations

from tocsin_slack.limits import violations

from tocsin import Outcome, sample_event
from tocsin.testing import Reply


def write_template(root, name, text):
    path = root / "notify-templates" / "slack" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return root / "notify-templates"


JOB_FAILED_OVERRIDE = """{
  "text": {{ ("Paging on-call: " ~ title) | slack_escape }},
  "blocks": [
    {"type": "section", "text": {"type": "mrkdwn", "text": {{ "*" ~ (title | slack_escape) ~ "* on " ~ (data.queue | default("default") | slack_escape) }}}}
  ]
}
"""


def test_a_template_named_slack_job_failed_in_template_dirs_wins(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    templates = write_template(tmp_path, "job_failed.json.j2", JOB_FAILED_OVERRIDE)
    notifier = tocsin_make_notifier(
        [{"name": "team-slack", "channel": "slack", "url": tocsin_http_sink.url + "/hook", "rate_limit": "off"}],
        notifications={"template_dirs": [str(templates)]},
    )

    assert notifier.notify(sample_event("job_failed", data={"queue": "<gpu>"})).ok
    assert notifier.notify(sample_event("job_completed")).ok

    failed, completed = (r.json() for r in tocsin_http_sink.requests)
    assert failed == {
        "text": "Paging on-call: Job failed: nightly-etl",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Job failed: nightly-etl* on &lt;gpu&gt;"}}],
    }
    assert completed["blocks"][0]["type"] == "header"  # other events keep the packaged default
    assert completed["blocks"][0]["text"]["text"] == "✅ Job completed: nightly-etl"


def test_the_override_serves_web_api_targets_too(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    templates = write_template(tmp_path, "job_failed.json.j2", JOB_FAILED_OVERRIDE)
    notifier = tocsin_make_notifier(
        [
            {
                "name": "ops-slack",
                "channel": "slack-api",
                "token": "xoxb-test",
                "channel_id": "C0123456789",
                "api_url": tocsin_http_sink.url + "/api/chat.postMessage",
            }
        ],
        notifications={"template_dirs": [str(templates)]},
    )
    tocsin_http_sink.reply(Reply(200, {"ok": True}))

    assert notifier.notify(sample_event("job_failed")).ok

    body = tocsin_http_sink.last.json()
    assert body["text"] == "Paging on-call: Job failed: nightly-etl"
    assert body["channel"] == "C0123456789"  # the plugin adds the destination


def test_an_override_can_extend_the_packaged_template(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    templates = write_template(
        tmp_path,
        "default.json.j2",
        """{% extends "slack:slack/default.json.j2" %}
{% block extra_blocks %}
    ,{"type": "divider"}
    ,{"type": "context", "elements": [{"type": "mrkdwn", "text": {{ "Runbook for " ~ (data.run_name | slack_escape) }}}]}
{% endblock %}
""",
    )
    notifier = tocsin_make_notifier(
        [{"name": "team-slack", "channel": "slack", "url": tocsin_http_sink.url + "/hook", "rate_limit": "off"}],
        notifications={"template_dirs": [str(templates)]},
    )

    assert notifier.notify(sample_event("job_failed")).ok

    body = tocsin_http_sink.last.json()
    assert violations(body) == []
    assert body["blocks"][0]["text"]["text"] == "❌ Job failed: nightly-etl"  # the packaged blocks stay
    assert body["blocks"][-2] == {"type": "divider"}
    assert body["blocks"][-1]["elements"][0]["text"] == "Runbook for nightly-etl"


def test_a_template_that_renders_no_object_fails_that_target_with_a_clear_error(
    tocsin_http_sink, tocsin_make_notifier, tmp_path
):
    templates = write_template(tmp_path, "job_failed.json.j2", '[{"type": "divider"}]')
    notifier = tocsin_make_notifier(
        [{"name": "team-slack", "channel": "slack", "url": tocsin_http_sink.url + "/hook", "rate_limit": "off"}],
        notifications={"template_dirs": [str(templates)]},
    )

    receipt = notifier.notify(sample_event("job_failed"))["team-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert "must render a JSON object" in receipt.error
    assert tocsin_http_sink.requests == []
