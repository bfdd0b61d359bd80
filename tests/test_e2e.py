"""End to end: `digest run` on the shipped samples in a temp dir, then the .eml files."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest

from digest.serialise import edition_from_dict
from tests.test_cli import digest

pytestmark = pytest.mark.slow


def test_run_on_samples_writes_one_good_message_per_subscriber(project: Path) -> None:
    result = digest("run", "--config", str(project))
    assert result.returncode == 0, result.stderr
    root = project.parent.parent
    messages = sorted((root / "outbox").glob("*.eml"))
    subscribers = (root / "config" / "subscribers.csv").read_text().strip().splitlines()[1:]
    assert len(messages) == len(subscribers) == 4
    assert "delivered" in result.stdout and str(root / "outbox") in result.stdout.replace("\n", "")

    previews = list((root / "var" / "previews").glob("*.html"))
    assert len(previews) == 1

    import json
    import sqlite3

    with sqlite3.connect(root / "var" / "digest.db") as db:
        (payload,) = db.execute("select payload from editions").fetchone()
        (accepted,) = db.execute(
            "select count(*) from deliveries where state = 'accepted'"
        ).fetchone()
    assert accepted == 4
    edition = edition_from_dict(json.loads(payload))

    for path in messages:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
            assert msg[header], header
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        assert len(html.encode("utf-8")) < 102 * 1024
        assert "<script" not in html.lower() and not re.search(r"<[^>]+\bonerror\s*=", html, re.I)
        assert "javascript:" not in html.lower()
        unsubscribe = msg["List-Unsubscribe"].strip("<>")
        assert unsubscribe.startswith("https://") and unsubscribe in html.replace("&amp;", "&")
        assert unsubscribe in text
        if msg["To"].endswith("<ana.lopez@mail.example>"):  # all sections
            linked = [story for story in edition.stories if story.url]
            assert len(linked) >= len(edition.stories) - 3  # saved .txt files carry no URL
            for story in edition.stories:
                assert (
                    story.headline.replace("&", "&amp;") in html.replace("&#39;", "'")
                    or story.headline in text
                )
            for story in linked:
                assert f'href="{story.url}"' in html, story.headline
                assert story.url in text

    # Same edition again: nothing new is delivered.
    again = digest("run", "--config", str(project))
    assert again.returncode == 0, again.stderr
    assert sorted((root / "outbox").glob("*.eml")) == messages
    with sqlite3.connect(root / "var" / "digest.db") as db:
        (rows,) = db.execute("select count(*) from deliveries").fetchone()
    assert rows == 4


def test_noisy_saved_text_is_cleaned(project: Path) -> None:
    """The shipped noisy .txt samples lose their repeated titles and navigation."""
    from digest.cleaning.articles import clean
    from digest.sources.folder import FolderSource

    docs = [
        d
        for d in FolderSource("Saved", project.parent.parent / "samples" / "saved").fetch()
        if d.text
    ]
    assert len(docs) >= 5
    for doc in docs:
        article = clean(doc)
        first_line = doc.text.strip().splitlines()[0].strip()  # type: ignore[union-attr]
        assert article.title == " ".join(first_line.split())
        assert article.title not in article.text
        for junk in ("Follow us", "PREV ", "NEXT ", "Share on", "Accept", "Subscribe"):
            assert junk not in article.text, (doc.origin, junk)
        assert article.text.rstrip().endswith((".", '"', "”", "’"))


SHARED_SAMPLE = (
    Path(__file__).resolve().parents[2] / "shared" / "samples" / "000_fce9f84e509673d9.txt"
)


@pytest.mark.skipif(
    not SHARED_SAMPLE.exists(), reason="../shared/samples is not beside the checkout"
)
def test_the_real_noisy_sample_is_cleaned() -> None:
    from digest.cleaning.scraped import clean_scraped_text

    found = clean_scraped_text(SHARED_SAMPLE.read_text(encoding="utf-8"))
    headline = SHARED_SAMPLE.read_text(encoding="utf-8").splitlines()[0].strip()
    assert found.title == headline
    assert found.text.startswith("Russian President Vladimir Putin did not rule out")
    assert found.text.endswith("called for their lifting.")
    assert found.credit == "EFE"
    for junk in ("PREV", "NEXT", "Follow us", headline):
        assert junk not in found.text
