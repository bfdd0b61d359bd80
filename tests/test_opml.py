"""OPML feed lists: parsing (safely), deduplication against the config, TOML out."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from digest.errors import ConfigError
from digest.settings.config import load_settings
from digest.settings.sources import SourceSettings
from digest.sources.opml import parse_opml, plan_import, read_opml, sources_toml
from tests.conftest import LocalServer

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
    feeds = [f for f in parse_opml(OPML) if f.url]
    assert [(f.title, f.url) for f in feeds][:3] == [
        ("Ball News", "https://ball.example/rss"),
        ("Cycling Weekly", "https://cycling.example/feed"),
        ("Tech & Co “daily”", "feed://tech.example/atom"),
    ]
    assert feeds[0].site == "https://ball.example/" and feeds[0].language == "en-GB"
    assert feeds[1].categories == ("Deep", "Sport")  # innermost folder first
    assert feeds[2].categories == ("Technology", "News", "Gadgets")


def test_plan_skips_known_and_repeated_feeds_and_names_each_reason(settings) -> None:  # type: ignore[no-untyped-def]
    plan = plan_import(parse_opml(OPML), settings)
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


def test_toml_out_loads_as_sources(settings) -> None:  # type: ignore[no-untyped-def]
    plan = plan_import(parse_opml(OPML), settings)
    text = sources_toml(plan.added, comment="Imported from reader.opml")
    tables = tomllib.loads(text)["sources"]
    sources = [SourceSettings.model_validate(table) for table in tables]
    assert [s.name for s in sources] == [s.name for s in plan.added]
    assert sources[2].name == "Tech & Co “daily”" and sources[0].language == "en-GB"
    assert "# site: https://ball.example/" in text


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
        '<opml><body><outline text="&lol9;" xmlUrl="https://x.example/&lol9;"/></body></opml>'
    ).encode()
    with pytest.raises(ConfigError, match="declares XML entities"):
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
    ):
        data = f'<?xml version="1.0"?>{doctype}<opml><body><outline text="&s;" xmlUrl="https://a.example/"/></body></opml>'
        try:
            feeds = parse_opml(data.encode())
        except ConfigError as exc:
            assert "TOP-SECRET" not in str(exc) and "REMOTE" not in str(exc)
            continue
        assert all("TOP-SECRET" not in f.title and "REMOTE" not in f.title for f in feeds)
    assert local_server.requests == []
