"""OPML feed lists: parsing (safely), fetching, deduplication against the config,
TOML out, and the configured feeds out as OPML (the lenient pre-pass has its own
tests in test_opml_repair.py)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import ConfigError
from digest.settings.config import Settings, load_settings
from digest.settings.sources import SourceSettings
from digest.sources.http import Fetcher, FetchPolicy, make_client
from digest.sources.opml import (
    export_opml,
    fetch_opml,
    parse_opml,
    plan_import,
    read_opml,
    sources_toml,
)
from tests.conftest import LocalServer, public_client, public_resolver

FILES = Path(__file__).parent / "opml"

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Reader export</title></head>
  <body>
    <outline text="Sport" title="Sport">
      <outline text="Ball News" type="rss" xmlUrl="https://ball.example/rss"
               htmlUrl="https://ball.example/" language="en-GB"/>
      <outline text="Deep">
        <outline text="Cycling Weekly" type="rss" xmlUrl="https://cycling.example/feed"/>
      </outline>
    </outline>
    <outline text="Tech &amp; Co" title="Tech &amp; Co &#8220;daily&#8221;" type="rss"
             xmlurl="feed://tech.example/atom" category="/News/Technology,/Gadgets"/>
    <outline text="Harbour Times again" type="rss" xmlUrl="https://harbour.example/feed.xml?utm_source=opml#top"/>
    <outline text="A web site" type="link" htmlUrl="https://site.example/"/>
    <outline text="Gopher" type="rss" xmlUrl="gopher://old.example/feed"/>
    <outline text="Ball News" type="rss" xmlUrl="https://ball.example/rss"/>
    <outline text="Ball News" type="rss" xmlUrl="https://ball-two.example/rss"/>
  </body>
</opml>"""


@pytest.fixture
def settings(project: Path):  # type: ignore[no-untyped-def]
    project.write_text(
        project.read_text()
        + '\n[[sources]]\nname = "Harbour"\nkind = "feed"\nurl = "https://harbour.example/feed.xml"\n'
    )
    return load_settings(project, {})


def test_nested_outlines_titles_categories_and_languages() -> None:
    feeds = [f for f in parse_opml(OPML).feeds if f.url]
    assert [(f.title, f.url) for f in feeds][:3] == [
        ("Ball News", "https://ball.example/rss"),
        ("Cycling Weekly", "https://cycling.example/feed"),
        ("Tech & Co “daily”", "feed://tech.example/atom"),
    ]
    assert feeds[0].site == "https://ball.example/" and feeds[0].language == "en-GB"
    assert feeds[1].categories == ("Deep", "Sport")  # innermost folder first
    assert feeds[2].categories == ("Technology", "News", "Gadgets")


def test_plan_skips_known_and_repeated_feeds_and_names_each_reason(settings) -> None:  # type: ignore[no-untyped-def]
    plan = plan_import(parse_opml(OPML).feeds, settings)
    assert [(s.name, s.url, s.topic, s.language) for s in plan.added] == [
        ("Ball News", "https://ball.example/rss", "Sport", "en-GB"),
        ("Cycling Weekly", "https://cycling.example/feed", "Sport", None),  # a section wins
        ("Tech & Co “daily”", "http://tech.example/atom", "Technology", None),
        ("Ball News (2)", "https://ball-two.example/rss", None, None),
    ]
    skipped = "\n".join(plan.skipped)
    assert (
        "'Harbour Times again' <https://harbour.example/feed.xml?utm_source=opml#top>: " in skipped
    )
    assert "already configured as 'Harbour'" in skipped
    assert "'A web site' <https://site.example/>: no xmlUrl, not a feed" in skipped
    assert "'Gopher' <gopher://old.example/feed>: not an http(s) URL" in skipped
    assert "'Ball News' <https://ball.example/rss>: already configured as 'Ball News'" in skipped
    assert len(plan.skipped) == 4
    assert plan.summary() == "7 feeds found, 4 added, 3 skipped; 1 outline without xmlUrl"


def test_toml_out_loads_as_sources(settings) -> None:  # type: ignore[no-untyped-def]
    plan = plan_import(parse_opml(OPML).feeds, settings)
    text = sources_toml(plan.added, comment="Imported from reader.opml")
    tables = tomllib.loads(text)["sources"]
    sources = [SourceSettings.model_validate(table) for table in tables]
    assert [s.name for s in sources] == [s.name for s in plan.added]
    assert sources[2].name == "Tech & Co “daily”" and sources[0].language == "en-GB"
    assert sources[0].site == "https://ball.example/" and sources[1].site is None
    assert all(s.enabled for s in sources)


def test_toml_out_loads_whatever_the_titles_and_sites_hold(settings) -> None:  # type: ignore[no-untyped-def]
    data = (
        b'<opml><body><outline text="Del\x7f &quot;q&quot; \\ back" xmlUrl="https://d.example/"'
        b' htmlUrl="https://d.example/\x7f&#10;x = 1"/></body></opml>'
    )
    plan = plan_import(parse_opml(data).feeds, settings)
    text = sources_toml(plan.added, comment="from evil\x7f\nname = 'x'.opml")
    tables = tomllib.loads(text)["sources"]
    assert [t["name"] for t in tables] == ['Del\x7f "q" \\ back']
    assert set(tables[0]) == {"name", "kind", "url"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline text='a'></body></opml>", r"line 1, column \d+: mismatched tag"),
        (b"<?xml version='1.0'?>\n<opml>\n<body>\n<outline text='a' & /></body>", "line 4, column"),
        (b"<rss version='2.0'><channel/></rss>", "not OPML: the root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "not OPML: no <body> element"),
        (b"", "line 1, column 1: no element found"),
    ],
)
def test_bad_opml_names_the_file_and_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "feeds.opml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message) as caught:
        read_opml(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_opml(tmp_path / "nope.opml")


def test_entity_bomb_is_refused_before_expansion() -> None:
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY lol0 "lol">{entities}]>'
        '<opml><body><outline text="&lol9;" xmlUrl="https://x.example/?a=1&b=&lol9;"/></body></opml>'
    ).encode()
    with pytest.raises(ConfigError, match="line 1: refused: its DOCTYPE declares XML entities"):
        parse_opml(bomb)


def test_external_entities_read_nothing_and_fetch_nothing(
    tmp_path: Path, local_server: LocalServer
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    local_server.serve("/x", "REMOTE")
    for doctype in (
        f'<!DOCTYPE opml [<!ENTITY s SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE opml [<!ENTITY s SYSTEM "{local_server.url}/x">]>',
        f'<!DOCTYPE opml [<!ENTITY % p SYSTEM "{local_server.url}/x"> %p;]>',
        f'<!DOCTYPE opml SYSTEM "{local_server.url}/x">',
        f'<!DOCTYPE opml PUBLIC "-//W3C//DTD OPML//EN" "{local_server.url}/x">',
        "<!DOCTYPE opml []>",
        "<!-- a comment first -->\n<!DOCTYPE  opml\n [<!ENTITY s 'x'>]>",
    ):
        data = (
            f'<?xml version="1.0"?>\n{doctype}\n'
            '<opml><body><outline text="&s;" xmlUrl="https://a.example/?a&b"/></body></opml>'
        )
        with pytest.raises(ConfigError, match=r"line \d+: refused: its DOCTYPE") as caught:
            parse_opml(data.encode(), "hostile.opml")
        assert "TOP-SECRET" not in str(caught.value) and "REMOTE" not in str(caught.value)
        assert str(caught.value).startswith("hostile.opml: line ")
    assert local_server.requests == []


def test_a_bare_doctype_and_one_in_a_comment_are_no_danger() -> None:
    for prolog in ("<!DOCTYPE opml>", "<!-- <!DOCTYPE opml SYSTEM 'x'> -->"):
        data = f'<?xml version="1.0"?>\n{prolog}\n<opml><body><outline text="A" xmlUrl="https://a.example/"/></body></opml>'
        read = parse_opml(data.encode())
        assert [f.url for f in read.feeds] == ["https://a.example/"] and read.repairs == []


def test_an_undeclared_entity_is_text_and_nothing_is_expanded() -> None:
    data = b'<opml><body><outline text="&lol9;&amp;" xmlUrl="https://a.example/"/></body></opml>'
    read = parse_opml(data)
    assert read.feeds[0].title == "&lol9;&"
    assert read.repairs == ["line 1: bare '&' read as '&amp;'"]


@pytest.fixture
def public_fetcher() -> Iterator[Fetcher]:
    with public_client() as client:
        yield Fetcher(client, FetchPolicy(retries=0), resolver=public_resolver)


def test_import_from_a_url_through_the_fetcher(
    local_server: LocalServer, public_fetcher: Fetcher
) -> None:
    data = (FILES / "bare-ampersands.opml").read_bytes()
    local_server.serve("/lists/news.opml", data, content_type="text/x-opml")
    url = local_server.public_url + "/lists/news.opml"
    read = fetch_opml(url, public_fetcher)
    assert read.origin == url and local_server.requests == ["/lists/news.opml"]
    assert [f.url for f in read.feeds if f.url] == [f.url for f in parse_opml(data).feeds if f.url]
    assert len([f for f in read.feeds if f.url]) == data.count(b" xmlUrl=") > 40
    assert len(read.repairs) == 1 and "bare '&' read as '&amp;'" in read.repairs[0]


def test_a_url_import_keeps_the_size_cap_and_names_the_url(local_server: LocalServer) -> None:
    local_server.serve("/big.opml", (FILES / "bare-ampersands.opml").read_bytes())
    local_server.serve("/gone.opml", "no", status=404)
    with public_client() as client:
        small = Fetcher(client, FetchPolicy(retries=0, max_bytes=4096), resolver=public_resolver)
        with pytest.raises(ConfigError, match="is larger than 4096 bytes") as caught:
            fetch_opml(local_server.public_url + "/big.opml", small)
        assert str(caught.value).startswith(local_server.public_url + "/big.opml: ")
        with pytest.raises(ConfigError, match="HTTP 404 from"):
            fetch_opml(local_server.public_url + "/gone.opml", small)


def test_a_url_on_a_private_address_is_refused_before_any_request(
    local_server: LocalServer,
) -> None:
    local_server.serve("/feeds.opml", OPML)
    with (
        make_client() as client,
        pytest.raises(ConfigError, match=r"127\.0\.0\.1, a private or local address") as caught,
    ):
        fetch_opml(local_server.url + "/feeds.opml", Fetcher(client, FetchPolicy(retries=0)))
    assert "local = true" not in str(caught.value)
    assert "a feed list is fetched from public addresses only" in str(caught.value)
    assert local_server.requests == []


def _with_url_feeds(project: Path) -> Settings:
    project.write_text(
        project.read_text()
        + """
[[sources]]
name = "Ball & Chain News"
kind = "feed"
url = "https://ball.example/rss.php?page=backend&lang=en"
topic = "Sport"
language = "en-GB"
site = "https://ball.example/?lang=en&amp=1"

[[sources]]
name = "Gadget Blog"
kind = "feed"
url = "https://gadgets.example/feed"
topic = "Gadgets"
enabled = false

[[sources]]
name = "Untopical"
kind = "feed"
url = "https://plain.example/atom.xml"

[[sources]]
name = "Town hall"
kind = "page"
url = "https://town.example/news"
topic = "Sport"
"""
    )
    return load_settings(project, {})


def test_export_is_opml_2_with_topics_as_folders(project: Path) -> None:
    settings = _with_url_feeds(project)
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    export = export_opml(settings.sources, title=settings.name, now=now)
    text = export.document.decode("utf-8")
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<opml ")
    assert "<dateCreated>Fri, 27 Nov 2026 06:00:00 +0000</dateCreated>" in text
    assert 'xmlUrl="https://ball.example/rss.php?page=backend&amp;lang=en"' in text
    assert re.search(r'<outline text="Sport" title="Sport">\s*<outline type="rss" text="Ball', text)
    assert 'htmlUrl="https://ball.example/?lang=en&amp;amp=1"' in text
    assert text.count("htmlUrl") == 1  # only Ball & Chain has a site
    # A disabled feed is marked in digest's namespace, which other readers ignore.
    assert '<opml xmlns:digest="urn:x-digest:opml" version="2.0">' in text
    assert re.search(r'text="Gadget Blog"[^>]* digest:enabled="false"', text)
    assert text.count("digest:enabled") == 1
    assert export.exported == 3
    assert export.left_out == [
        "'The Harbour Times': read from "
        + str(project.parent.parent / "samples/feeds/harbour-times.xml")
        + ", not a feed URL",
        "'Northern Ledger': read from "
        + str(project.parent.parent / "samples/feeds/northern-ledger.atom")
        + ", not a feed URL",
        "'Civic Wire': read from "
        + str(project.parent.parent / "samples/feeds/civic-wire.xml")
        + ", not a feed URL",
        "'Saved articles': a folder source, not a feed URL",
        "'Town hall': a page source, not a feed URL",
    ]


def test_export_then_import_into_an_empty_config_gives_the_same_feeds(project: Path) -> None:
    settings = _with_url_feeds(project)
    export = export_opml(settings.sources, title="x", now=datetime.now(UTC))
    empty = settings.model_copy(update={"sources": ()})
    plan = plan_import(parse_opml(export.document).feeds, empty)
    assert plan.skipped == [] and parse_opml(export.document).repairs == []
    feeds = [s for s in settings.sources if s.kind == "feed" and s.url]
    assert [(s.name, s.url, s.topic, s.language, s.site, s.enabled) for s in plan.added] == [
        (s.name, s.url, s.topic, s.language, s.site, s.enabled) for s in feeds
    ]
    assert [s.enabled for s in feeds] == [True, False, True]
    # ... and so does the TOML the import writes.
    tables = tomllib.loads(sources_toml(plan.added))["sources"]
    assert [SourceSettings.model_validate(t) for t in tables] == feeds
