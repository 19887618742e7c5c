"""README's override that extends the packaged embed and adds one field with ``{{ super() }}``, delivered."""

from __future__ import annotations

from tocsin import Event, sample_event

ADD_REGION = """\
{% extends "discord:discord/default.json.j2" %}
{% block fields %}
        {"name": "Region", "value": {{ data.region or "eu-west" }}, "inline": true}{% if fields or error %},{% endif %}
{{ super() }}
{% endblock %}
"""


def test_an_override_adds_one_field_to_the_packaged_embed(tmp_path, tocsin_make_notifier, tocsin_http_sink):
    folder = tmp_path / "notify-templates" / "discord"
    folder.mkdir(parents=True)
    (folder / "default.json.j2").write_text(ADD_REGION, encoding="utf-8")
    target = {"name": "team-discord", "channel": "discord", "url": f"{tocsin_http_sink.url}/api/webhooks/42/tok3n"}
    plain = tocsin_make_notifier([target], path=tmp_path / "plain.toml")
    extended = tocsin_make_notifier([target], notifications={"template_dirs": [str(folder.parent)]})
    for event in (sample_event("backup_failed"), Event("user_login"), sample_event("job_started")):
        assert plain.notify(event).ok
        (before,) = tocsin_http_sink.last.json()["embeds"]
        assert extended.notify(event).ok
        (after,) = tocsin_http_sink.last.json()["embeds"]
        assert after["fields"] == [{"name": "Region", "value": "eu-west", "inline": True}, *before.get("fields", [])]
        assert {k: v for k, v in after.items() if k != "fields"} == {k: v for k, v in before.items() if k != "fields"}
