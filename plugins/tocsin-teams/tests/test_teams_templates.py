"""Template overrides by file name, and what the plugin does with a template's output.

Overrides live in ``notifications.template_dirs``: ``teams/<event>.json.j2`` or ``teams/default.json.j2``
for the Adaptive Card, ``teams/messagecard/...`` for the legacy card. Whatever a template renders is
checked (Teams' required fields) and kept under ``max_bytes`` before it is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin import Event, Outcome, sample_event

SECRET = "sig=SuperSecretSignature123"

# A minimal but complete Workflows payload; each test puts its body elements in place of BODY.
CARD = """{
  "type": "message",
  "attachments": [{
    "contentType": "application/vnd.microsoft.card.adaptive",
    "contentUrl": null,
    "content": {
      "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
      "type": "AdaptiveCard",
      "version": "1.4",
      "body": [BODY]
    }
  }]
}"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def notifier_with(tocsin_make_notifier: Any, sink: Any, tmp_path: Path, **options: Any) -> Any:
    url = f"{sink.url}/workflows/abc123/triggers/manual/paths/invoke?{SECRET}"
    return tocsin_make_notifier(
        [{"name": "teams", "channel": "teams", "url": url, **options}],
        notifications={"template_dirs": [str(tmp_path / "tpl")]},
    )


def content(sink: Any) -> dict[str, Any]:
    return sink.last.json()["attachments"][0]["content"]


def test_event_specific_override_wins_for_that_event_only(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    body = '{"type": "TextBlock", "text": {{ ("Custom: " ~ title) | teams_escape }}, "wrap": true}'
    write(tmp_path / "tpl" / "teams" / "job_failed.json.j2", CARD.replace("BODY", body))
    notifier = notifier_with(tocsin_make_notifier, tocsin_http_sink, tmp_path)
    assert notifier.notify(sample_event("job_failed"))["teams"].outcome is Outcome.DELIVERED
    assert content(tocsin_http_sink)["body"] == [
        {"type": "TextBlock", "text": "Custom: Job failed: nightly-etl", "wrap": True}
    ]
    notifier.notify(sample_event("job_completed"))
    assert content(tocsin_http_sink)["body"][0]["type"] == "Container"  # the packaged default for other events


def test_override_can_extend_the_packaged_card(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    # Extend the packaged card ("teams:" names the package's copy) and fill its body_extra block.
    write(
        tmp_path / "tpl" / "teams" / "default.json.j2",
        '{% extends "teams:teams/default.json.j2" %}'
        '{% block body_extra %},{"type": "TextBlock", "text": {{ ("On call: " ~ data.oncall) | teams_escape }}}'
        "{% endblock %}",
    )
    notifier = notifier_with(tocsin_make_notifier, tocsin_http_sink, tmp_path)
    notifier.notify(sample_event("job_failed", data={"oncall": "ann_lee"}))
    body = content(tocsin_http_sink)["body"]
    assert body[0]["style"] == "attention"  # the packaged card, with one more block before the footer
    assert body[-2] == {"type": "TextBlock", "text": "On call: ann\\_lee"}


def test_messagecard_override_by_file_name(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    write(
        tmp_path / "tpl" / "teams" / "messagecard" / "default.json.j2",
        '{"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": {{ title | teams_plain }},'
        ' "text": {{ ("Legacy: " ~ title) | teams_escape(html=true) }}}',
    )
    notifier = notifier_with(tocsin_make_notifier, tocsin_http_sink, tmp_path, format="messagecard")
    assert notifier.notify(sample_event("backup_failed"))["teams"].outcome is Outcome.DELIVERED
    assert tocsin_http_sink.last.json()["text"] == "Legacy: Backup failed: nightly-etl"


def test_an_override_that_renders_too_much_is_cut_to_max_bytes(
    tocsin_http_sink, tocsin_make_notifier, tmp_path, tocsin_hostile_event
):
    # This template shows the raw 1 MB error and every field, skipping the plugin's own cuts.
    body = (
        '{"type": "TextBlock", "text": {{ data.error | teams_escape(multiline=true) }}, "wrap": true},'
        '{"type": "FactSet", "facts": [{% for k, v in data.items() %}'
        '{"title": {{ k | teams_escape }}, "value": {{ v | teams_escape }}}{% if not loop.last %},{% endif %}'
        "{% endfor %}]}"
    )
    write(tmp_path / "tpl" / "teams" / "default.json.j2", CARD.replace("BODY", body))
    notifier = notifier_with(tocsin_make_notifier, tocsin_http_sink, tmp_path, max_bytes=12_000)
    assert notifier.notify(tocsin_hostile_event("job_failed"))["teams"].outcome is Outcome.DELIVERED
    assert len(tocsin_http_sink.last.body) <= 12_000
    card = content(tocsin_http_sink)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    error_block, factset = card["body"]
    assert error_block["text"].endswith("…") and error_block["text"].startswith("\\</script\\>")
    assert len(factset["facts"]) == 54  # every fact is kept; the long texts share the cut


def test_an_override_too_big_to_cut_is_replaced_by_a_summary(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    body = (
        '{"type": "FactSet", "facts": [{% for i in range(3000) %}'
        '{"title": "n{{ i }}", "value": "v"}{% if not loop.last %},{% endif %}{% endfor %}]}'
    )
    write(tmp_path / "tpl" / "teams" / "default.json.j2", CARD.replace("BODY", body))
    notifier = notifier_with(tocsin_make_notifier, tocsin_http_sink, tmp_path)
    assert notifier.notify(sample_event("job_failed"))["teams"].outcome is Outcome.DELIVERED
    assert len(tocsin_http_sink.last.body) <= 20_000
    card = content(tocsin_http_sink)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"] == "Job failed: nightly-etl"
    assert "over this target's limit of 20,000" in card["body"][1]["text"]
    assert card["actions"][0]["url"] == "https://example.org/runs/run-0042"


def test_an_override_missing_required_fields_fails_before_sending(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    write(
        tmp_path / "tpl" / "teams" / "default.json.j2",
        CARD.replace('"version": "1.4",', "").replace("BODY", '{"type": "TextBlock", "text": "x"}'),
    )
    receipt = notifier_with(tocsin_make_notifier, tocsin_http_sink, tmp_path).notify(Event("job_failed"))["teams"]
    assert receipt.outcome is Outcome.FAILED
    assert "teams/job_failed.json.j2 or teams/default.json.j2 made a card Teams would reject" in receipt.error
    assert 'attachments[0].content.version must be a string such as "1.4"' in receipt.error
    assert tocsin_http_sink.requests == []
