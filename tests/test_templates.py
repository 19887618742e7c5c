"""Templates: lookup order, overrides, escaping per output kind, errors that name the template."""

from __future__ import annotations

import json

import pytest

from tocsin import Event, TemplateError
from tocsin.testing import HOSTILE_STRINGS, hostile_event

from .conftest import write


def test_lookup_event_specific_then_default(testchan, tmp_path, tocsin_make_notifier):
    write(tmp_path / "tpl" / "testchan" / "job_failed.json.j2", '{"which": "deployment job_failed", "t": {{ title }}}')
    notifier = tocsin_make_notifier(
        [{"name": "t", "channel": "testchan", "url": "http://127.0.0.1:9"}],
        notifications={"template_dirs": ["tpl"]},
    )
    assert notifier.render("t", Event("job_failed")).body["which"] == "deployment job_failed"
    assert notifier.render("t", Event("job_completed")).body["title"] == "✅ Job completed"  # packaged default


def test_loader_order_deployment_then_target_dir_then_channel(testchan, tmp_path, tocsin_make_notifier):
    write(tmp_path / "deploy" / "testchan" / "job_completed.json.j2", '{"which": "deployment job_completed"}')
    write(tmp_path / "team" / "testchan" / "default.json.j2", '{"which": "target dir default"}')
    write(tmp_path / "team" / "testchan" / "job_failed.json.j2", '{"which": "target dir job_failed"}')
    notifier = tocsin_make_notifier(
        [
            {"name": "a", "channel": "testchan", "url": "http://127.0.0.1:9", "template_dir": "team"},
            {"name": "b", "channel": "testchan", "url": "http://127.0.0.1:9"},
        ],
        notifications={"template_dirs": ["deploy"]},
    )
    assert notifier.render("a", Event("job_completed")).body == {"which": "deployment job_completed"}
    assert notifier.render("a", Event("job_failed")).body == {"which": "target dir job_failed"}
    assert notifier.render("a", Event("job_started")).body == {"which": "target dir default"}
    assert notifier.render("b", Event("job_failed")).body["title"] == "❌ Job failed"  # the package's default
    assert notifier.render("b", Event("queue_finished")).body == {"which": "package queue_finished"}


def test_a_deployment_default_overrides_the_packages_event_specific_templates(testchan, tmp_path, tocsin_make_notifier):
    write(tmp_path / "deploy" / "testchan" / "default.json.j2", '{"which": "deployment default"}')
    notifier = tocsin_make_notifier(
        [{"name": "b", "channel": "testchan", "url": "http://127.0.0.1:9"}],
        notifications={"template_dirs": ["deploy"]},
    )
    assert notifier.render("b", Event("queue_finished")).body == {"which": "deployment default"}
    assert notifier.render("b", Event("job_failed")).body == {"which": "deployment default"}


def test_override_can_extend_the_packaged_template(testchan, tmp_path, tocsin_make_notifier):
    write(
        tmp_path / "tpl" / "console" / "default.txt.j2",
        '{% extends "tocsin:console/default.txt.j2" %}',
    )
    write(
        tmp_path / "tpl" / "testchan" / "default.json.j2",
        '{"wrapped": {% include "testchan:testchan/default.json.j2" %}}',
    )
    notifier = tocsin_make_notifier(
        [{"name": "c", "channel": "console"}, {"name": "t", "channel": "testchan", "url": "http://127.0.0.1:9"}],
        notifications={"template_dirs": ["tpl"]},
    )
    assert "Job failed: x" in notifier.render("c", Event("job_failed", data={"run_name": "x"})).text
    assert notifier.render("t", Event("job_failed")).body["wrapped"]["title"] == "❌ Job failed"


def test_templates_compile_once(testchan, tocsin_make_notifier):
    notifier = tocsin_make_notifier([{"name": "t", "channel": "testchan", "url": "http://127.0.0.1:9"}])
    target = notifier.target("t")
    env = notifier.templates.environment("json", target.template_dir)
    notifier.render("t", Event("job_failed"))
    first = env.get_template("testchan/default.json.j2")
    notifier.render("t", Event("job_failed"))
    assert env.get_template("testchan/default.json.j2") is first


def test_hostile_data_renders_valid_json(testchan, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [
            {"name": "t", "channel": "testchan", "url": "http://127.0.0.1:9"},
            {"name": "c", "channel": "console", "format": "json"},
        ]
    )
    event = hostile_event()
    for name in ("t", "c"):
        body = notifier.render(name, event).body
        text = json.dumps(body, ensure_ascii=False)
        assert json.loads(text) == body
    body = notifier.render("c", event).body
    assert body["data"]["job_name"] == HOSTILE_STRINGS["script"]
    assert body["data"]["status"] == HOSTILE_STRINGS["json_breaker"]
    assert body["data"]["note"] == HOSTILE_STRINGS["non_bmp"]
    assert body["data"]["error"].endswith("…")  # the console bounds what it prints: the 1 MB error is cut
    assert len(json.dumps(body, ensure_ascii=False).encode()) <= 100_000


def test_html_is_autoescaped(tmp_path, tocsin_make_notifier):
    write(tmp_path / "tpl" / "console" / "default.html.j2", "<p>{{ title }}</p><pre>{{ error }}</pre>")
    notifier = tocsin_make_notifier([{"name": "c", "channel": "console"}], notifications={"template_dirs": ["tpl"]})
    target = notifier.target("c")
    event = Event("job_failed", title="</script><script>alert(1)</script>", data={"error": "<b>x</b> & y"})
    html = notifier.templates.render_html(event, target)
    assert "<script>" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html
    hostile = notifier.templates.render_html(hostile_event(), target)
    assert "<script>" not in hostile and "<img" not in hostile
    assert "&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in hostile
    assert "🎉" in notifier.templates.render_html(Event("job_failed", data={"error": "🎉 𝔘"}), target)


def test_subject_part_is_one_line(tmp_path, tocsin_make_notifier):
    write(tmp_path / "tpl" / "console" / "default.subject.j2", "{{ title }}")
    notifier = tocsin_make_notifier([{"name": "c", "channel": "console"}], notifications={"template_dirs": ["tpl"]})
    subject = notifier.templates.render_text(
        Event("job_failed", title="a\r\nBcc: x@example.org\nc"), notifier.target("c"), part="subject"
    )
    assert subject == "a Bcc: x@example.org c"


def test_template_errors_name_the_template_and_line(testchan, tmp_path, tocsin_make_notifier):
    write(
        tmp_path / "tpl" / "testchan" / "job_failed.json.j2",
        '{\n  "a": {{ title }},\n  "b": {{ data.x | nosuchfilter }}\n}',
    )
    write(tmp_path / "tpl" / "testchan" / "job_completed.json.j2", '{\n  "a": {{ title }},\n  "b": {{ 1 / 0 }}\n}')
    write(tmp_path / "tpl" / "testchan" / "job_started.json.j2", '{"a": {{ title }},}')
    notifier = tocsin_make_notifier(
        [{"name": "t", "channel": "testchan", "url": "http://127.0.0.1:9"}],
        notifications={"template_dirs": ["tpl"]},
    )
    with pytest.raises(
        TemplateError, match=r"template 'testchan/job_failed.json.j2' line 3: .*nosuchfilter.*target 't'"
    ):
        notifier.render("t", Event("job_failed"))
    with pytest.raises(TemplateError, match=r"job_completed.json.j2.* line 3: ZeroDivisionError"):
        notifier.render("t", Event("job_completed"))
    with pytest.raises(TemplateError, match=r"rendered invalid JSON .*for target 't'"):
        notifier.render("t", Event("job_started"))


def test_missing_template_lists_the_names_tried(testchan, tocsin_make_notifier, tmp_path):
    notifier = tocsin_make_notifier([{"name": "c", "channel": "console"}])
    with pytest.raises(TemplateError, match=r"looked for console/job_failed.md.j2, console/default.md.j2"):
        notifier.templates.render_text(Event("job_failed"), notifier.target("c"), part="md")


def test_a_template_failure_fails_that_target_only(testchan, tmp_path, tocsin_http_sink, tocsin_make_notifier):
    write(tmp_path / "tpl" / "testchan" / "default.json.j2", "{{ broken")
    notifier = tocsin_make_notifier(
        [
            {"name": "broken", "channel": "testchan", "url": tocsin_http_sink.url},
            {"name": "c", "channel": "console", "stream": "stderr"},
        ],
        notifications={"template_dirs": ["tpl"]},
    )
    report = notifier.notify(Event("job_failed"))
    assert report["broken"].outcome.value == "failed"
    assert "testchan/default.json.j2" in report["broken"].error
    assert report["c"].outcome.value == "delivered"
    assert tocsin_http_sink.requests == []


def test_a_json_override_adds_to_a_parent_block_with_super(testchan, tmp_path, tocsin_make_notifier):
    """``{{ super() }}``, ``{{ self.block() }}``, macros and ``{% set %}`` blocks are JSON as written, not strings."""
    write(
        tmp_path / "tpl" / "testchan" / "base.json.j2",
        '{"title": {{ title }}, "fields": [{% block fields %}{"name": "run", "value": {{ data.run_name }}}'
        "{% endblock %}]}",
    )
    write(
        tmp_path / "tpl" / "testchan" / "default.json.j2",
        '{% extends "testchan/base.json.j2" %}\n'
        '{% macro field(name, value) %}{"name": {{ name }}, "value": {{ value }}}{% endmacro %}\n'
        "{% block fields %}{{ super() }}, {{ field('region', data.region) }}"
        '{% set extra %}{"name": "n", "value": {{ data.n }}}{% endset %}, {{ extra }}{% endblock %}',
    )
    notifier = tocsin_make_notifier(
        [{"name": "t", "channel": "testchan", "url": "http://127.0.0.1:9"}], notifications={"template_dirs": ["tpl"]}
    )
    hostile = 'eu"}], "injected": [{"x": "'
    body = notifier.render("t", Event("job_failed", data={"run_name": "nightly", "region": hostile, "n": 3})).body
    assert body == {
        "title": "Job failed: nightly",
        "fields": [
            {"name": "run", "value": "nightly"},
            {"name": "region", "value": hostile},  # values are still encoded: data cannot break out
            {"name": "n", "value": 3},
        ],
    }
