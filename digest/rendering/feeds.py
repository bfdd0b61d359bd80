"""An edition's archive as feeds: Atom 1.0 (RFC 4287) and JSON Feed 1.1, one entry per
sent edition, newest first, each carrying the edition as HTML.

Both are built as data and serialised by a real serialiser (ElementTree, ``json``), so
text from the sources (headlines, outlet names, links) is escaped there and nowhere
needs to be by hand. Characters XML 1.0 forbids are dropped from every value first:
escaped or not, they would make the Atom document ill-formed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from digest.cleaning.text import NOT_XML_TEXT, cut_at_word, one_line
from digest.models import Edition
from digest.rendering.attribution import attribution
from digest.rendering.renderer import Renderer

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
JSON_FEED_TYPE = "application/feed+json"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
FEED_SIZE = 20  # the newest sent editions a feed lists
TITLE_LIMIT = 300
# Atom needs an <updated> even before anything went out: a fixed date, so the empty
# feed stays byte for byte the same (and its ETag with it) until the first edition.
NOTHING_SENT = datetime(1970, 1, 1, tzinfo=UTC)
ENTRY_TEMPLATE = "feed_entry.html.j2"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One sent edition: its web version's URL is its permanent id."""

    url: str
    title: str
    published: datetime
    content_html: str


@dataclass(frozen=True, slots=True)
class Feed:
    title: str
    author: str
    language: str
    home_page_url: str  # the public archive
    atom_url: str
    json_url: str
    entries: tuple[FeedEntry, ...]

    @property
    def updated(self) -> datetime:
        return max((e.published for e in self.entries), default=NOTHING_SENT)


def feed_urls(base_url: str, name: str) -> tuple[str, str]:
    """The Atom and JSON Feed URLs of the edition ``name``."""
    base = base_url.rstrip("/")
    return f"{base}/editions/{name}/feed.xml", f"{base}/editions/{name}/feed.json"


def edition_feed(
    renderer: Renderer,
    name: str,
    title: str,
    author: str,
    sent: Sequence[Edition],
    language: str = "en",
) -> Feed:
    """The feed of edition ``name`` (``title`` and ``language`` from its settings) over
    ``sent``, its sent editions newest first, each entry in its own language."""
    atom_url, json_url = feed_urls(renderer.base_url, name)
    entries = []
    for edition in sent:
        url = renderer.web_url(edition)
        template = renderer.environment(edition.language).get_template(ENTRY_TEMPLATE)
        entries.append(
            FeedEntry(
                url=url,
                title=_text(edition.subject or f"{edition.title} {edition.period}"),
                published=edition.built_at.astimezone(UTC),
                content_html=NOT_XML_TEXT.sub(
                    "",
                    template.render(
                        edition=edition, web_url=url, outlets=lambda s: attribution(s, None)
                    ),
                ),
            )
        )
    return Feed(
        title=_text(title),
        author=_text(author or title),
        language=language,
        home_page_url=f"{renderer.base_url}/editions",
        atom_url=atom_url,
        json_url=json_url,
        entries=tuple(entries),
    )


def atom_document(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (RFC 4287), UTF-8."""
    root = ET.Element(
        "feed", {"xmlns": ATOM_NS, "{http://www.w3.org/XML/1998/namespace}lang": feed.language}
    )
    _child(root, "id", feed.atom_url)
    _child(root, "title", feed.title)
    _child(root, "updated", _rfc3339(feed.updated))
    _child(_child(root, "author"), "name", feed.author)
    _child(root, "link", rel="self", type=ATOM_TYPE, href=feed.atom_url)
    _child(root, "link", rel="alternate", type="text/html", href=feed.home_page_url)
    _child(root, "link", rel="alternate", type=JSON_FEED_TYPE, href=feed.json_url)
    for entry in feed.entries:
        item = _child(root, "entry")
        _child(item, "id", entry.url)
        _child(item, "title", entry.title)
        _child(item, "updated", _rfc3339(entry.published))
        _child(item, "published", _rfc3339(entry.published))
        _child(_child(item, "author"), "name", feed.author)
        _child(item, "link", rel="alternate", type="text/html", href=entry.url)
        _child(item, "content", entry.content_html, type="html")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def json_feed_document(feed: Feed) -> bytes:
    """The feed as a JSON Feed 1.1 document, UTF-8."""
    author = [{"name": feed.author}]
    data = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.home_page_url,
        "feed_url": feed.json_url,
        "language": feed.language,
        "authors": author,
        "items": [
            {
                "id": entry.url,
                "url": entry.url,
                "title": entry.title,
                "content_html": entry.content_html,
                "date_published": _rfc3339(entry.published),
                "authors": author,
            }
            for entry in feed.entries
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


def _child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _text(value: str) -> str:
    return cut_at_word(one_line(value), TITLE_LIMIT)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
