"""Cleaning: noisy scraped text, whole pages and feed fragments become clean articles."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from digest.cleaning.articles import article_id, clean
from digest.cleaning.pages import extract_html, fragment_text
from digest.cleaning.scraped import clean_scraped_text
from digest.errors import ExtractionError
from digest.models import RawDocument

HEADLINE = "Harbour authority halts island ferries after storm cracks passenger pier"
P1 = (
    "The Port Alder harbour authority stopped every ferry to the outer islands on Thursday "
    "after a storm left deep cracks in the main passenger pier."
)
P2 = (
    "“We cannot let a vessel tie up there until engineers are sure it will hold,” the "
    "authority's chief executive, Maria Lund, told reporters at the quayside."
)
P3 = (
    "About 400 travellers were stranded on the mainland, and the coastguard said it would fly "
    "islanders who need hospital care by helicopter."
)
P4 = (
    "Temporary floating pontoons could allow sailings to resume on Saturday if the wind drops, "
    "the ferry operator said in a statement."
)
PREV_LINE = "PREV Council approves late opening hours for the city library"
NEXT_LINE = "NEXT Rovers reach the cup semi-final with a late header from their captain"
FOLLOW_LINE = "For Latest Updates Follow us on Google News"
NBSP = "\u00a0"  # scraped "blank" lines often hold a no-break space

# Shaped like scraped news pages: the headline three times, the body, an agency credit glued
# to the last sentence, a "follow us" line, a lone dash and PREV/NEXT teasers.
NOISY = f"""{HEADLINE}

{HEADLINE}
{HEADLINE}

{P1}

{P2}

{P3}

{P4} EFE

{NBSP}
{FOLLOW_LINE}
{NBSP}

-

{PREV_LINE}
{NEXT_LINE}
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Library to stay open late | The Harbour Times</title>
<meta property="og:title" content="Library to stay open until ten at night">
</head><body>
<div class="cookie-banner"><p>We use cookies to improve your experience. Accept all cookies
or manage your cookie settings.</p><button>Accept</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/culture">Culture</a></li></ul></nav></header>
<main><article>
<h1>Library to stay open until ten at night</h1>
<p>The city library on Market Square will stay open until ten at night from next month, the
council said on Wednesday, after a survey found that students and shift workers wanted
somewhere quiet to read.</p>
<p>The longer hours will be paid for by closing a little-used branch in the business district,
which lends fewer than fifty books a week, according to figures published by the council.</p>
<p>Librarians said the main building would also get new desks, more power sockets and a room
for children's reading groups before the new hours begin.</p>
<p>The council will review the change after twelve months to see whether enough people use the
library late in the evening.</p>
</article></main>
<footer><p>Copyright 2026 The Harbour Times Ltd. All rights reserved.</p>
<p>Registered office: 1 Quay Street, Port Alder. Company number 01234567.</p>
<ul><li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms</a></li></ul>
</footer>
</body></html>"""
PAGE_FIRST = "The city library on Market Square will stay open until ten at night from next month"
PAGE_LAST = "whether enough people use the library late in the evening."

FRAGMENT = (
    "<p>The harbour authority reopened the passenger pier on Saturday.</p>"
    "<script>window.tracker = 'do-not-show-this';</script>"
    '<iframe src="https://ads.example/slot">Advert text inside the frame</iframe>'
    "<p>Ferries to the islands will run to the normal timetable from Monday &amp; extra "
    "sailings are planned.</p>"
    "<style>.pier { color: red; }</style>"
)


# --- noisy scraped text ----------------------------------------------------------------------


def test_noisy_text_title_once_and_equal_to_headline() -> None:
    found = clean_scraped_text(NOISY)
    assert found.title == HEADLINE
    assert HEADLINE not in found.text


def test_noisy_text_body_runs_from_first_paragraph_to_last_sentence() -> None:
    found = clean_scraped_text(NOISY)
    assert found.text.startswith(P1)
    assert found.text.endswith(P4)
    assert found.text.split("\n\n") == [P1, P2, P3, P4]


def test_noisy_text_drops_navigation_and_share_lines() -> None:
    text = clean_scraped_text(NOISY).text
    for junk in (PREV_LINE, NEXT_LINE, FOLLOW_LINE, "PREV", "NEXT", "Google News"):
        assert junk not in text
    assert all(p.strip() not in {"", "-"} for p in text.split("\n\n"))


def test_noisy_text_credit_is_captured_and_cut_from_the_body() -> None:
    found = clean_scraped_text(NOISY)
    assert found.credit == "EFE"
    assert not found.text.endswith("EFE")


@pytest.mark.parametrize(
    ("tail", "credit"),
    [(" (Reuters)", "Reuters"), (" AFP", "AFP"), (" Europa Press", "Europa Press"), ("", None)],
)
def test_credit_variants(tail: str, credit: str | None) -> None:
    found = clean_scraped_text(NOISY.replace(f"{P4} EFE", P4 + tail))
    assert found.credit == credit
    assert found.text.endswith(P4)


def test_explicit_title_wins_over_the_first_line() -> None:
    found = clean_scraped_text(f"Menu\n\n{P1}\n\n{P2}", title="Ferries halted")
    assert found.title == "Ferries halted"
    assert found.text == f"{P1}\n\n{P2}"


def test_cookie_and_share_lines_before_the_body_are_dropped() -> None:
    noisy = "\n\n".join(
        [HEADLINE, "Accept all cookies", "Share on Facebook", "Tweet", P1, P2, "Read more: ferries"]
    )
    assert clean_scraped_text(noisy).text == f"{P1}\n\n{P2}"


# Teasers of other stories, as news pages print them: a headline, a byline and a
# one-sentence summary, each on its own line.
TEASERS = [
    [
        "Council Approves Late Opening Hours For The City Library",
        "By Jane Holm",
        "The city library on Market Square will stay open until ten at night from next month, "
        "after a survey found that students wanted somewhere quiet to read.",
    ],
    [
        "Rovers Reach The Cup Semi-Final",
        "By Tom Eklund",
        "A late header from their captain sent Rovers into the semi-final of the county cup for "
        "the first time in eleven years, in front of a sell-out crowd.",
    ],
    [
        "Tram Line Vote Delayed Again",
        "By Jane Holm",
        "Councillors put off the vote on the second tram line until January because the "
        "engineers' report on the bridge over the river is not finished.",
    ],
]
# Headlines of other stories, long enough to pass for prose by length alone.
HEADLINE_LIST = [
    "Port Alder Council Names The Five Streets That Will Close For The Winter Market This Year",
    "Greyhaven Giants Unveil Plans For A Riverside Arena With Room For Six Thousand Fans Inside",
    "Kestrel Bay Shipyard Wins The Contract To Build Two Hybrid Ferries For The Island Routes",
]


def _page(*blocks: list[str] | str) -> str:
    lines: list[str] = []
    for block in blocks:
        lines.extend([block] if isinstance(block, str) else block)
    return "\n\n".join(lines)


def test_teasers_with_summaries_after_the_article_are_dropped() -> None:
    noisy = _page(HEADLINE, P1, P2, P3, P4, "More from Civic Wire", *TEASERS)
    found = clean_scraped_text(noisy)
    assert found.text.split("\n\n") == [P1, P2, P3, P4]


def test_teasers_before_the_article_are_dropped() -> None:
    noisy = _page(
        HEADLINE,
        "Top stories",
        *TEASERS,
        HEADLINE,
        "By Maria Lund",
        "27 November 2026",
        P1,
        P2,
        P3,
        P4,
    )
    assert clean_scraped_text(noisy).text.split("\n\n") == [P1, P2, P3, P4]


def test_a_list_of_long_headlines_is_not_prose() -> None:
    noisy = _page(HEADLINE, P1, P2, P3, P4, "Elsewhere in the region", HEADLINE_LIST)
    found = clean_scraped_text(noisy)
    assert found.text.split("\n\n") == [P1, P2, P3, P4]


def test_a_long_line_in_title_case_is_not_prose() -> None:
    menu = (
        "Home News Sport Business Culture Travel Weather Opinion Podcasts Video Puzzles "
        "Horoscopes Obituaries Jobs Property Motors Dating Shop Newsletters Contact Us"
    )
    noisy = _page(HEADLINE, P1, P2, P3, P4, menu, "Privacy policy")
    assert clean_scraped_text(noisy).text.split("\n\n") == [P1, P2, P3, P4]


def test_a_related_header_matched_as_boilerplate_still_ends_the_article() -> None:
    # "Related articles" is dropped as boilerplate and still marks where the teasers start.
    teasers = [[teaser[0], teaser[-1]] for teaser in TEASERS]
    noisy = _page(HEADLINE, P1, P2, P3, P4, "Related articles", *teasers)
    found = clean_scraped_text(noisy)
    assert found.text.split("\n\n") == [P1, P2, P3, P4]


def test_a_single_paragraph_between_menus_is_the_body() -> None:
    menu = ["Home", "News", "Sport", "Culture", "Weather"]
    noisy = _page(HEADLINE, menu, P1 + " " + P3, ["Privacy policy", "Terms", "Contact"])
    assert clean_scraped_text(noisy).text == P1 + " " + P3


def test_subheadings_and_long_unpunctuated_lines_inside_the_article_stay() -> None:
    subheading = "What happens next"
    table_row = (
        "Outer islands ferry times from Saturday 07:10 09:40 12:15 14:50 17:20 19:45 "
        "from the floating pontoon on the north quay"
    )
    noisy = _page(HEADLINE, P1, P2, subheading, P3, table_row, P4)
    assert clean_scraped_text(noisy).text.split("\n\n") == [
        P1,
        P2,
        subheading,
        P3,
        table_row,
        P4,
    ]


def test_a_short_last_sentence_with_a_credit_stays_in_the_body() -> None:
    last = "The first sailing is planned for Saturday morning."
    noisy = _page(HEADLINE, P1, P2, f"{last} Reuters", FOLLOW_LINE, PREV_LINE, NEXT_LINE)
    found = clean_scraped_text(noisy)
    assert found.text.split("\n\n") == [P1, P2, last]
    assert found.credit == "Reuters"


def test_clean_of_noisy_text_gives_the_article() -> None:
    document = RawDocument(
        source="Civic Wire",
        url="https://Civic-Wire.example/news/ferries?utm_source=rss&utm_medium=feed&id=7#top",
        text=NOISY,
        topic_hint="World",
    )
    article = clean(document)
    assert article.title == HEADLINE
    assert article.text.split("\n\n") == [P1, P2, P3, P4]
    assert article.credit == "EFE"
    assert article.url == "https://civic-wire.example/news/ferries?id=7"
    assert article.topic_hint == "World"
    assert article.source == "Civic Wire"


# --- whole pages ---------------------------------------------------------------------------------


def test_extract_html_keeps_article_paragraphs() -> None:
    found = extract_html(PAGE, "https://harbourtimes.example/news/library-late")
    assert found.title == "Library to stay open until ten at night"
    paragraphs = found.text.split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith(PAGE_FIRST)
    assert paragraphs[-1].endswith(PAGE_LAST)


def test_extract_html_drops_footer_nav_and_cookie_banner() -> None:
    text = extract_html(PAGE).text
    for junk in (
        "Copyright",
        "All rights reserved",
        "Registered office",
        "Privacy policy",
        "cookies",
        "Home",
    ):
        assert junk not in text
    # The headline is the title, not the first paragraph.
    assert not text.startswith("Library to stay open")


def test_page_without_a_date_has_no_published_date() -> None:
    assert extract_html(PAGE).published is None


def test_page_date_from_metadata() -> None:
    page = PAGE.replace(
        "</head>", '<meta property="article:published_time" content="2026-11-26T08:30:00Z"></head>'
    )
    published = extract_html(page).published
    assert published is not None
    assert published.date() == datetime(2026, 11, 26, tzinfo=UTC).date()
    assert published.tzinfo is not None


def test_clean_of_a_whole_page() -> None:
    article = clean(
        RawDocument(
            source="The Harbour Times",
            url="https://harbourtimes.example/news/library-late?fbclid=abc",
            html=PAGE,
        )
    )
    assert article.title == "Library to stay open until ten at night"
    assert article.text.startswith(PAGE_FIRST)
    assert "Registered office" not in article.text
    assert article.url == "https://harbourtimes.example/news/library-late"


def test_clean_prefers_the_documents_own_title() -> None:
    article = clean(RawDocument(source="S", url=None, html=PAGE, title="  Late   library "))
    assert article.title == "Late library"


# --- feed fragments ------------------------------------------------------------------------------


def test_fragment_text_drops_script_iframe_and_style() -> None:
    text = fragment_text(FRAGMENT)
    assert text == (
        "The harbour authority reopened the passenger pier on Saturday.\n\n"
        "Ferries to the islands will run to the normal timetable from Monday & extra sailings "
        "are planned."
    )
    for junk in ("do-not-show-this", "tracker", "Advert text", "color"):
        assert junk not in text


def test_fragment_text_of_plain_text() -> None:
    assert fragment_text("Just a sentence, no tags.") == "Just a sentence, no tags."


def test_fragment_text_nested_blocks_are_not_repeated() -> None:
    fragment = "<blockquote><p>Quoted words here.</p></blockquote><ul><li>One</li><li>Two</li></ul>"
    assert fragment_text(fragment) == "Quoted words here.\n\nOne\n\nTwo"


@pytest.mark.parametrize(
    "fragment", ["Line one<br><br>Line two", "<p>Line one<br>Line two</p>"], ids=["bare", "in-p"]
)
def test_fragment_text_br_separates_words(fragment: str) -> None:
    assert "oneLine" not in fragment_text(fragment)


def test_clean_of_a_fragment() -> None:
    article = clean(
        RawDocument(
            source="Northern Ledger",
            url="https://ledger.example/pier",
            fragment=FRAGMENT,
            title="Pier  reopens\n",
            author="Jane Doe",
        )
    )
    assert article.title == "Pier reopens"
    assert article.paragraphs[0] == "The harbour authority reopened the passenger pier on Saturday."
    assert "do-not-show-this" not in article.text
    assert article.author == "Jane Doe"


def test_title_falls_back_to_the_first_words() -> None:
    article = clean(RawDocument(source="S", url=None, fragment=f"<p>{P1}</p>"))
    assert article.title == " ".join(P1.split()[:12]) + "…"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        RawDocument(source="S", url=None),
        RawDocument(source="S", url=None, text="   \n\n \t"),
        RawDocument(source="S", url=None, fragment="<script>track()</script>"),
        RawDocument(source="S", url=None, html="<html><body></body></html>"),
        RawDocument(source="S", url=None, text="Only a title line", title="Only a title line"),
    ],
    ids=["nothing", "blank-text", "script-only-fragment", "empty-page", "title-only"],
)
def test_clean_raises_extraction_error_on_empty_content(document: RawDocument) -> None:
    with pytest.raises(ExtractionError):
        clean(document)


def test_extraction_error_names_the_origin() -> None:
    with pytest.raises(ExtractionError, match=re.escape("saved/empty.txt")):
        clean(RawDocument(source="S", url=None, text=" ", origin="saved/empty.txt"))


@pytest.mark.parametrize("url", ["https://news.example:port/a", "https://news.example:99999/a"])
def test_clean_with_an_invalid_port_url(url: str) -> None:
    document = RawDocument(source="S", url=url, title="Pier", text=f"{P1}\n\n{P2}")
    try:
        article = clean(document)
    except ExtractionError:
        return
    assert article.url is None


# --- ids and urls --------------------------------------------------------------------------------


def test_article_id_is_url_based_and_stable() -> None:
    url = "https://ledger.example/pier"
    first = article_id(url, "Ledger", "Title one", "Text one")
    assert first == article_id(url, "Other outlet", "Another title", "Edited text")
    assert first != article_id("https://ledger.example/other", "Ledger", "Title one", "Text one")
    assert len(first) == 20
    assert all(ch in "0123456789abcdef" for ch in first)


def test_article_id_without_url_depends_on_content() -> None:
    a = article_id(None, "Ledger", "Title", "Text")
    assert a == article_id(None, "Ledger", "Title", "Text")
    assert a != article_id(None, "Ledger", "Title", "Other text")
    assert a != article_id(None, "Wire", "Title", "Text")


def test_same_article_through_two_feeds_gets_one_id() -> None:
    body = f"<p>{P1}</p>"
    a = clean(
        RawDocument(source="Ledger", url="https://Ledger.example/pier?utm_source=a", fragment=body)
    )
    b = clean(
        RawDocument(source="Ledger", url="https://ledger.example/pier#comments", fragment=body)
    )
    assert a.url == b.url == "https://ledger.example/pier"
    assert a.id == b.id == article_id("https://ledger.example/pier", "", "", "")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative/pier", "mailto:x@y.example"])
def test_non_web_url_is_dropped(url: str) -> None:
    article = clean(RawDocument(source="S", url=url, title="Pier", fragment=f"<p>{P1}</p>"))
    assert article.url is None
    assert article.id == article_id(None, "S", "Pier", P1)


def test_scraped_text_from_a_source_uses_its_url_as_digest_extract_does() -> None:
    """The URL's slug names the article among other prose: the pipeline passes it as
    `digest extract` does, so collection cleans as the measured command does."""
    article_lines = [
        "The harbour ferry timetable will change next week as winter sailings begin, the operator said on Monday morning.",
        "Ferry passengers on the harbour route will see fewer late sailings while the timetable changes are in force.",
        "The operator said the ferry timetable would return to normal in spring once repairs to the harbour pier end.",
    ]
    other_lines = [
        "Council members met again on Tuesday to discuss the budget for the coming year and the new library building.",
        "Several residents spoke at the meeting about the parking plans near the station and asked for more time to respond.",
        "The mayor said the council would publish its full budget proposal next month after a final round of talks.",
        "Officials expect the vote on the proposal to take place before the end of the year, a spokesperson said on Wednesday.",
    ]
    menu = [
        "Photo gallery of the week",
        "Weather for the region today",
        "Listen to the podcast now",
        "Sport results and tables",
        "Events this weekend in town",
        "Letters to the editor page",
    ]
    title = "Ferry timetable changes for winter"
    text = "\n".join([title, *article_lines, *menu, *other_lines])
    url = "https://news.example/harbour-ferry-timetable-winter"
    assert clean_scraped_text(text, title).text.startswith("Council members")  # no hint
    article = clean(RawDocument(source="S", url=url, text=text, title=title))
    assert article.text == clean_scraped_text(text, title, url).text
    assert article.text.startswith("The harbour ferry timetable")
