"""The lenient pre-pass: made-up OPML files in tests/opml/ with each error real
exports contain, read with every feed they list and each repair reported once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.errors import ConfigError
from digest.settings.config import load_settings
from digest.sources.opml import parse_opml, plan_import, read_opml

FILES = Path(__file__).parent / "opml"


def _feeds(name: str) -> list[tuple[str, str, str | None]]:
    return [(f.title, f.url, f.site) for f in read_opml(FILES / name).feeds if f.url]


def test_a_bare_ampersand_in_every_url_loses_no_feed(project: Path) -> None:
    path = FILES / "bare-ampersands.opml"
    text = path.read_text(encoding="utf-8")
    # What the file says, attribute by attribute, as a person reads it.
    listed = re.findall(r'xmlUrl="([^"]*)" htmlUrl="([^"]*)"', text)
    assert len(listed) == text.count("<outline type=") > 40
    assert all("&" in url and "&" in site for url, site in listed)
    read = read_opml(path)
    assert [(f.url, f.site) for f in read.feeds if f.url] == listed
    first = next(n for n, line in enumerate(text.splitlines(), 1) if "xmlUrl=" in line)
    after_comment = text.split("-->", 1)[1]  # a comment's "&" needs no repair
    ampersands = after_comment.count("&") - after_comment.count("&amp;")
    assert read.repairs == [f"line {first}: bare '&' read as '&amp;' (and {ampersands - 1:,} more)"]
    assert read.feeds[0].categories == ("Politics", "Nordland")
    assert read.feeds[4].title == "Nordland Business & Economy 2"

    plan = plan_import(read.feeds, load_settings(project, {}))
    assert len(plan.added) == len(listed) and plan.skipped == []
    assert plan.summary() == f"{len(listed)} feeds found, {len(listed)} added, 0 skipped"


@pytest.mark.parametrize(
    ("name", "feeds", "repairs"),
    [
        (
            "html-entities.opml",
            [
                ("Le Quotidien", "https://quotidien.example/rss", None),  # &nbsp; is a space
                ("L’Écho — Sport", "https://echo.example/sport.xml", None),
                ("Blög & Co &nope;", "https://blog.example/feed", None),
            ],
            [
                "line 4: HTML entity '&eacute;' read as U+00E9 (and 7 more)",
                "line 9: bare '&' read as '&amp;'",
            ],
        ),
        (
            "latin1-declares-utf8.opml",
            [
                ("La Dépêche économique", "https://depeche.example/eco.rss", None),
                ("Señales de Ávila", "https://senales.example/feed", None),
                ("Süddeutsche Blätter", "https://blaetter.example/rss", None),
            ],
            ["line 1: encoding declared as 'UTF-8' does not fit the bytes; read as windows-1252"],
        ),
        (
            "bom-utf8.opml",
            [
                ("Dagbladet Østlandet", "https://ostlandet.example/rss", None),
                ("Göteborgs Röst", "https://rost.example/feed.xml", None),
            ],
            ["line 1: UTF-8 byte-order mark removed"],
        ),
        ("bom-utf16.opml", [("Καθημερινή Ώρα", "https://ora.example/rss", None)], []),
        (
            "mixed-case.opml",
            [
                ("Lower Case", "https://lower.example/rss", "https://lower.example/"),
                ("Upper Url", "https://upper.example/feed", "https://upper.example/"),
                ("Shouting", "https://shouting.example/atom", None),
            ],
            [
                "line 6: attributes read in any case: 'TEXT' as 'text', 'xmlurl' as "
                "'xmlUrl', 'htmlurl' as 'htmlUrl', 'Type' as 'type', 'Title' as 'title', "
                "'xmlURL' as 'xmlUrl', ... (and 7 more)"
            ],
        ),
        (
            "control-characters.opml",
            [
                ("Tab and vertical tab", "https://vt.example/rss", None),
                ("Escape [1m bold", "https://esc.example/rss", None),
                ("Bell reference", "https://bell.example/rss", None),
            ],
            [
                "line 2: control character U+000C read as a space (and 3 more)",
                "line 8: reference '&#7;' to a character XML forbids read as a space",
            ],
        ),
        ("doctype-bare.opml", [("Plain", "https://plain.example/rss", None)], []),
    ],
)
def test_each_repair_reads_every_feed_and_is_reported_with_its_line(
    name: str, feeds: list[tuple[str, str, str | None]], repairs: list[str]
) -> None:
    assert _feeds(name) == feeds
    assert read_opml(FILES / name).repairs == repairs


def test_every_repair_at_once_is_each_reported_once() -> None:
    read = read_opml(FILES / "everything.opml")
    assert [(f.title, f.url, f.categories) for f in read.feeds if f.url] == [
        ("Le Petit Écho", "https://echo.example/spip.php?page=backend&lang=fr", ("Région",)),
        (
            "Radio Côte",
            "https://cote.example/?widgetName=rssfeed&widgetId=7&getXmlFeed=true",
            ("Région",),
        ),
    ]
    assert read.repairs == [
        "line 2: no encoding declared and the bytes are not UTF-8; read as windows-1252",
        "line 2: XML declaration after blank lines ignored",
        "line 8: HTML entity '&nbsp;' read as U+00A0",
        "line 8: bare '&' read as '&amp;' (and 2 more)",
        "line 8: attributes read in any case: 'xmlurl' as 'xmlUrl', 'XmlUrl' as 'xmlUrl'"
        " (and 1 more)",
        "line 9: control character U+000B read as a space",
    ]


def test_an_error_left_after_repairs_names_the_files_line_and_column() -> None:
    line = '<outline text="a&nbsp;b" xmlUrl="https://x.example/?a=1&b=2&c=3"></body>'
    data = f"<?xml version='1.0'?>\n<opml>\n<body>\n\n{line}\n</opml>\n".encode()
    column = line.index("</body>") + 3  # where expat sees the mismatch, 1-based
    with pytest.raises(ConfigError, match=rf"^x\.opml: line 5, column {column}: mismatched tag$"):
        parse_opml(data, "x.opml")


def test_a_declaration_encoding_that_fits_is_no_repair() -> None:
    for encoding, text in (("ISO-8859-1", "Économie"), ("windows-1250", "Łódź"), ("utf-8", "Ω")):
        data = (
            f'<?xml version="1.0" encoding="{encoding}"?>\n'
            f'<opml><body><outline text="{text}" xmlUrl="https://a.example/"/></body></opml>'
        ).encode(encoding)
        read = parse_opml(data)
        assert read.feeds[0].title == text and read.repairs == []


def test_an_encoding_the_bytes_do_not_fit_is_read_as_what_they_are() -> None:
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n'
        '<opml><body><outline text="Économie" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    read = parse_opml(data)
    assert read.feeds[0].title == "Économie"
    assert read.repairs == [
        "line 1: encoding declared as 'ISO-8859-1' does not fit the bytes; read as UTF-8"
    ]


@pytest.mark.parametrize(
    ("title", "read_as"),
    [("Économie".encode(), "UTF-8"), ("Économie".encode("cp1252"), "windows-1252")],
)
def test_an_unknown_encoding_declared_is_read_as_what_the_bytes_are(
    title: bytes, read_as: str
) -> None:
    data = (
        b'<?xml version="1.0" encoding="x-made-up-8"?>\n<opml><body><outline text="'
        + title
        + b'" xmlUrl="https://a.example/"/></body></opml>'
    )
    read = parse_opml(data)
    assert read.feeds[0].title == "Économie" and read.feeds[0].url == "https://a.example/"
    assert read.repairs == [f"line 1: unknown encoding 'x-made-up-8' declared; read as {read_as}"]
