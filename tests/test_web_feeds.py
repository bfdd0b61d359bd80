"""Feeds out: each edition's archive as Atom 1.0 and JSON Feed 1.1.

Editions are built and sent by the real pipeline (the shipped config in a temp dir,
the outbox transport, SQLite and PostgreSQL), the app is served by uvicorn on a local
port, and the feeds are fetched over HTTP and read back with feedparser (Atom), a
strict XML parser and the JSON Feed 1.1 rules.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from markupsafe import escape

from digest import pipeline
from digest.components import Components
from digest.models import Edition, RunReport, Section, Story, StoryLink
from digest.rendering.feeds import FEED_SIZE
from tests.conftest import FIXED_NOW, Clock, make_components
from tests.served_app import free_port, serving

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
FIRST, SECOND, DRAFT = "2026-11-27", "2026-11-28", "2026-11-29"


@dataclass
class Site:
    c: Components
    clock: Clock
    base: str
    http: httpx.Client

    def send(self, when: datetime) -> Edition:
        """A whole cycle at ``when``: collect, build, send through the outbox."""
        self.clock.now = when
        report = pipeline.run(self.c, "morning")
        stored = self.c.store.editions.latest("morning")
        assert stored is not None and stored.status == "sent", report
        return stored.edition


@pytest.fixture
def site(project: Path, database_url: str) -> Iterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    text = project.read_text(encoding="utf-8")
    text = text.replace('base_url = "https://digest.news.example"', f'base_url = "{base}"')
    project.write_text(text, encoding="utf-8")
    environ = {"DIGEST_SECRET_KEY": "k" * 32, "DIGEST_DATABASE_URL": database_url}
    clock = Clock()
    c = make_components(project, clock=clock, environ=environ)
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    try:
        with serving(c, port), httpx.Client(base_url=base, timeout=10) as client:
            yield Site(c, clock, base, client)
    finally:
        c.close()


def sent_copy(c: Components, edition: Edition, period: str, **changes: Any) -> Edition:
    """``edition`` stored again as sent under another period (the archive of many days
    without running many days)."""
    copy = replace(edition, period=period, **changes)
    stored = c.store.editions.save_draft(copy)
    c.store.editions.set_status(stored.id, "sent")
    return copy


def atom_problems(document: bytes) -> list[str]:
    """What breaks RFC 4287's MUSTs for the elements these feeds use, read with a
    strict XML parser (an ill-formed document raises)."""
    root = ET.fromstring(document)
    problems = [] if root.tag == f"{ATOM}feed" else [f"root is {root.tag}"]

    def exactly_one(element: ET.Element, name: str, where: str) -> None:
        found = element.findall(f"{ATOM}{name}")
        if len(found) != 1:
            problems.append(f"{where}: {len(found)} atom:{name}")
        elif name == "updated" and not RFC3339.fullmatch(found[0].text or ""):
            problems.append(f"{where}: updated {found[0].text!r} is not RFC 3339")
        elif name == "id" and not (found[0].text or "").startswith("http://"):
            problems.append(f"{where}: id {found[0].text!r} is not an absolute IRI")

    for name in ("id", "title", "updated"):
        exactly_one(root, name, "feed")
    entries = root.findall(f"{ATOM}entry")
    if not root.findall(f"{ATOM}author") and not all(e.find(f"{ATOM}author") for e in entries):
        problems.append("no atom:author on the feed nor on every entry")
    for i, entry in enumerate(entries):
        for name in ("id", "title", "updated"):
            exactly_one(entry, name, f"entry {i}")
        alternate = [
            link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "alternate"
        ]
        if entry.find(f"{ATOM}content") is None and not alternate:
            problems.append(f"entry {i}: neither atom:content nor an alternate link")
    return problems


def json_feed_problems(data: Any) -> list[str]:
    """What breaks JSON Feed 1.1: the required top-level fields and, per item, a
    string id and content_html or content_text; dates RFC 3339."""
    problems = []
    if data.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"version {data.get('version')!r}")
    if not isinstance(data.get("title"), str) or not data["title"]:
        problems.append("no title")
    if not isinstance(data.get("items"), list):
        return [*problems, "items is not a list"]
    for i, item in enumerate(data["items"]):
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"item {i}: id is not a string")
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            problems.append(f"item {i}: no content_html nor content_text")
        if "date_published" in item and not RFC3339.fullmatch(item["date_published"]):
            problems.append(f"item {i}: date_published {item['date_published']!r}")
    return problems


# --- Atom -----------------------------------------------------------------------------


def test_atom_feed_lists_the_sent_editions_newest_first_and_validates(site: Site) -> None:
    first = site.send(FIXED_NOW)
    second = site.send(FIXED_NOW + timedelta(days=1))
    site.clock.now = FIXED_NOW + timedelta(days=2)
    draft = pipeline.build(site.c, "morning", RunReport())  # built, never sent
    assert (first.period, second.period, draft.edition.period) == (FIRST, SECOND, DRAFT)

    response = site.http.get("/editions/morning/feed.xml")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert atom_problems(response.content) == []
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "The Morning Digest"
    assert parsed.feed.id == f"{site.base}/editions/morning/feed.xml"
    assert parsed.feed.author == site.c.settings.delivery.from_name
    assert parsed.feed.updated_parsed is not None
    links = {(link.rel, link.type): link.href for link in parsed.feed.links}
    assert links[("self", "application/atom+xml")] == f"{site.base}/editions/morning/feed.xml"
    assert links[("alternate", "application/feed+json")].endswith("/editions/morning/feed.json")
    assert [e.link for e in parsed.entries] == [
        f"{site.base}/editions/morning/{SECOND}",
        f"{site.base}/editions/morning/{FIRST}",
    ]
    entry = parsed.entries[1]
    assert entry.id == entry.link
    assert entry.title == first.subject
    assert entry.updated_parsed[:3] == (2026, 11, 27)
    assert entry.author == site.c.settings.delivery.from_name
    assert entry.content[0].type == "text/html"
    raw = ET.fromstring(response.content).findall(f"{ATOM}entry/{ATOM}content")[1].text or ""
    for story in first.stories:
        assert str(escape(story.headline)) in raw
    # Each entry's link is the archive's page of that edition.
    page = site.http.get(entry.link)
    assert page.status_code == 200
    assert first.stories[0].headline.split()[0] in page.text


def test_the_feed_holds_the_newest_twenty(site: Site) -> None:
    first = site.send(FIXED_NOW)
    periods = [f"2026-12-{day:02d}" for day in range(1, 26)]
    for period in periods:
        sent_copy(site.c, first, period)

    atom = feedparser.parse(site.http.get("/editions/morning/feed.xml").content)
    items = site.http.get("/editions/morning/feed.json").json()["items"]

    newest = list(reversed(periods))[:FEED_SIZE]
    assert FEED_SIZE == 20
    assert [e.link.rsplit("/", 1)[1] for e in atom.entries] == newest
    assert [i["url"].rsplit("/", 1)[1] for i in items] == newest


def test_an_edition_with_nothing_sent_yet_has_an_empty_valid_feed(site: Site) -> None:
    atom = site.http.get("/editions/morning/feed.xml")
    feed = site.http.get("/editions/morning/feed.json")

    assert atom.status_code == feed.status_code == 200
    assert atom_problems(atom.content) == []
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo and parsed.entries == []
    assert json_feed_problems(feed.json()) == []
    assert feed.json()["items"] == []


# --- JSON Feed -------------------------------------------------------------------------


def test_json_feed_has_the_required_fields_of_1_1(site: Site) -> None:
    first = site.send(FIXED_NOW)

    response = site.http.get("/editions/morning/feed.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/feed+json"
    data = json.loads(response.content.decode("utf-8"))
    assert json_feed_problems(data) == []
    assert data["title"] == "The Morning Digest"
    assert data["home_page_url"] == f"{site.base}/editions"
    assert data["feed_url"] == f"{site.base}/editions/morning/feed.json"
    assert data["authors"] == [{"name": site.c.settings.delivery.from_name}]
    [item] = data["items"]
    assert item["id"] == item["url"] == f"{site.base}/editions/morning/{FIRST}"
    assert item["title"] == first.subject
    assert datetime.fromisoformat(item["date_published"]) == first.built_at
    for story in first.stories:
        assert str(escape(story.headline)) in item["content_html"]
        assert str(escape(story.summary)) in item["content_html"]


# --- hostile text ----------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script> ]]> Tram \x01vote\x0b & <b>more</b>"
CLEANED = "<script>alert(1)</script> ]]> Tram vote & <b>more</b>"


def hostile_edition(edition: Edition) -> Edition:
    known = edition.stories[0].articles[0].article_id  # an article the database holds
    story = Story(
        id="hostile",
        headline=HOSTILE,
        summary=f"Summary {HOSTILE}",
        articles=(
            StoryLink(known, "Evil <i>Outlet</i> ]]>", "t", "javascript:alert(1)"),
            StoryLink(known, "Other\x00 Outlet", "t", 'https://news.example/a?b="><script>'),
        ),
    )
    return replace(
        edition,
        subject=HOSTILE,
        sections=(Section(name="World <img src=x onerror=alert(1)>", stories=(story,)),),
    )


def test_hostile_text_is_escaped_in_the_atom_feed(site: Site) -> None:
    first = site.send(FIXED_NOW)
    sent_copy(site.c, hostile_edition(first), SECOND)

    document = site.http.get("/editions/morning/feed.xml").content

    assert atom_problems(document) == []  # well-formed: control characters dropped
    assert b"\x01" not in document and b"\x0b" not in document and b"\x00" not in document
    assert b"<script" not in document and b"]]>" not in document
    parsed = feedparser.parse(document)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert entry.title == CLEANED  # the markup is text, shown as written
    # The entry's HTML, once out of the XML: the hostile text is still escaped in it.
    raw = ET.fromstring(document).find(f"{ATOM}entry/{ATOM}content")
    assert raw is not None and raw.text is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw.text
    assert "<script" not in raw.text and "<img" not in raw.text and "<i>" not in raw.text
    assert "javascript:" not in raw.text  # not a web URL: the outlet is not linked
    assert '"><script>' not in raw.text


def test_hostile_text_is_escaped_in_the_json_feed(site: Site) -> None:
    first = site.send(FIXED_NOW)
    sent_copy(site.c, hostile_edition(first), SECOND)

    data = site.http.get("/editions/morning/feed.json").json()

    assert json_feed_problems(data) == []
    item = data["items"][0]
    assert item["title"] == CLEANED
    html = item["content_html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert "\x01" not in html and "\x00" not in html


# --- not found, caching, links ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/editions/evening/feed.xml",
        "/editions/evening/feed.json",
        "/editions/Morning/feed.xml",
        "/editions/..%2F..%2Fconfig/feed.json",
        "/editions/%3Cscript%3E/feed.xml",
        "/editions/" + "m" * 200 + "/feed.json",
        "/editions/morning/feed.rss",
    ],
)
def test_an_unknown_edition_is_not_found(site: Site, path: str) -> None:
    site.send(FIXED_NOW)

    response = site.http.get(path)

    assert response.status_code == 404
    assert "<script>" not in response.text and "Traceback" not in response.text


def test_the_not_found_page_of_a_feed_is_the_archives(site: Site) -> None:
    response = site.http.get("/editions/evening/feed.xml")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no such edition" in response.text


def test_an_unchanged_feed_answers_304_until_the_next_edition(site: Site) -> None:
    site.send(FIXED_NOW)
    for path in ("/editions/morning/feed.xml", "/editions/morning/feed.json"):
        first = site.http.get(path)
        tag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
        assert first.headers["cache-control"] == "public, max-age=300"

        again = site.http.get(path, headers={"If-None-Match": tag})
        weak = site.http.get(path, headers={"If-None-Match": f'"other", W/{tag}'})
        other = site.http.get(path, headers={"If-None-Match": '"other"'})

        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == tag
        assert weak.status_code == 304
        assert other.status_code == 200 and other.content == first.content

    tags = {p: site.http.get(p).headers["etag"] for p in ("/editions/morning/feed.xml",)}
    site.send(FIXED_NOW + timedelta(days=1))
    for path, tag in tags.items():
        after = site.http.get(path, headers={"If-None-Match": tag})
        assert after.status_code == 200
        assert after.headers["etag"] != tag


def test_the_archive_pages_link_the_feeds(site: Site) -> None:
    site.send(FIXED_NOW)

    archive = site.http.get("/editions").text
    web_version = site.http.get(f"/editions/morning/{FIRST}")

    head = archive.split("</head>")[0]
    assert (
        '<link rel="alternate" type="application/atom+xml" title="The Morning Digest (Atom)" '
        'href="/editions/morning/feed.xml">' in head
    )
    assert (
        '<link rel="alternate" type="application/feed+json" '
        'title="The Morning Digest (JSON Feed)" href="/editions/morning/feed.json">' in head
    )
    for href in re.findall(r'<link rel="alternate"[^>]* href="([^"]+)"', head):
        assert site.http.get(href).status_code == 200
    link = web_version.headers["link"]
    assert '</editions/morning/feed.xml>; rel="alternate"; type="application/atom+xml"' in link
    assert '</editions/morning/feed.json>; rel="alternate"; type="application/feed+json"' in link
