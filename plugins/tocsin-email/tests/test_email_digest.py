"""A digest (tocsin.digest_event) as a mail: the title as subject, a table of events in HTML, a list in text."""

from __future__ import annotations

import re

from tocsin import Outcome, sample_digest

from .conftest import target


def test_a_digest_mail_has_a_table_of_linked_events(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    digest = sample_digest("quiet_hours", count=25)
    assert notifier.notify(digest)["mail"].outcome is Outcome.DELIVERED

    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail["Subject"] == "❌ 25 notifications held during quiet hours (10 failures, 10 successes, 5 notifications)"
    html = mail.part("html").get_content()
    links = re.findall(r'<a href="(https://example\.org/runs/run-\d+)"', html)
    assert links == [f"https://example.org/runs/run-{i:04d}" for i in range(1, 21)]  # the 20 the digest lists
    assert "… and 5 more" in html
    text = mail.part("plain").get_content().replace("\r\n", "\n")
    assert "Why:         held during quiet hours" in text
    assert "✅ Job completed: nightly-etl #2\n" in text and "   https://example.org/runs/run-0002\n" in text
    assert "… and 5 more" in text
