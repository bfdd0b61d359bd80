"""What a subscriber would call a defect, on made-up articles: an outlet named twice,
two summary sentences saying the same thing, a summary opening on something the
reader never saw, a headline and summary from different reports, one story spread
over days, a folder's name shown as the outlet (the reader checks of `make eval`)."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from itertools import pairwise
from pathlib import Path

import pytest

from benchmarks.reader_checks import dangles
from digest.cleaning.articles import clean
from digest.models import Edition, Section, Story, StoryLink
from digest.rendering.attribution import OUTLETS_SHOWN, attribution
from digest.rendering.renderer import Renderer
from digest.sources.folder import FolderSource
from digest.stories.headlines import choose_headline
from digest.stories.span import one_event_each
from digest.stories.story import make_story
from digest.stories.updates import FollowUp, regroup
from digest.summarise.extractive import summarise
from tests.conftest import FIXED_NOW, make_article

WORD = re.compile(r"[a-z0-9]+")
SMALL = {"the", "a", "an", "of", "on", "in", "to", "and", "its", "was", "had", "by", "at"}


def _words(sentence: str) -> set[str]:
    return {w for w in WORD.findall(sentence.lower()) if w not in SMALL}


def _sentences(summary: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", summary) if s]


def _links(*outlets: str) -> tuple[StoryLink, ...]:
    return tuple(
        StoryLink(f"a{i}", o, "t", f"https://{o.lower().replace(' ', '')}.example/{i}")
        for i, o in enumerate(outlets)
    )


def _story(*outlets: str) -> Story:
    return Story(
        id="s1", headline="Storm closes the coast road", summary="", articles=_links(*outlets)
    )


def test_each_outlet_is_named_once_lead_first_then_by_tellings() -> None:
    story = _story("Harbour Times", "Civic Wire", "Harbour Times", "Ledger", "Ledger", "Ledger")
    credit = attribution(story)
    assert credit.lead is not None and credit.lead.source == "Harbour Times"
    assert [link.source for link in credit.others] == ["Ledger", "Civic Wire"]
    assert credit.more == 0


def test_the_email_caps_the_outlets_and_the_web_version_lists_them_all(tmp_path: Path) -> None:
    outlets = ["Lead Post"] + [f"Outlet {n}" for n in range(OUTLETS_SHOWN + 3)]
    story = _story(*outlets, "Outlet 1", "Lead Post")
    edition = Edition(
        name="morning",
        title="The Morning Digest",
        subject="s",
        period="2026-11-27",
        built_at=FIXED_NOW,
        sections=(Section("World", (story,)),),
    )
    renderer = Renderer(tmp_path / "none", base_url="https://digest.example.org")
    email = renderer.preview(edition)
    assert email.text.count("Outlet 1") == 1 and "Lead Post" not in email.text.split("Also")[1]
    assert "and 3 more" in email.text and "and 3 more" in email.html
    assert "Outlet 7" not in email.html
    web = renderer.web_page(edition)
    assert all(f">Outlet {n}</a>" in web for n in range(OUTLETS_SHOWN + 3))
    assert "more" not in web.split("also reported by")[1].split("</div>")[0]


STORM = [
    (
        "Harbour Times",
        "Storm Bertil battered the north coast overnight, cutting power to 41,000 homes. "
        "Engineers from Veldmark arrived on Friday to help repair the broken poles along the road. "
        "The ferry to Gull Island stays in port until the wind drops on Saturday.",
    ),
    (
        "Civic Wire",
        "Storm Bertil swept across the north coast overnight and cut power to 41,000 homes. "
        "Schools in Millbrook and Ashby Cross stay closed while the roads are cleared of trees.",
    ),
    (
        "Northern Ledger",
        "Overnight, Storm Bertil battered the north coast and left 41,000 homes without power. "
        "The amber wind warning for the coast stays in force until six on Friday evening.",
    ),
]


def test_a_summary_never_says_the_same_thing_twice_in_two_outlets_words() -> None:
    articles = [
        make_article(f"a{i}", source=s, title="Storm Bertil hits the coast", text=t)
        for i, (s, t) in enumerate(STORM)
    ]
    summary = summarise(articles, budget_words=80)
    parts = [_words(s) for s in _sentences(summary)]
    assert len(parts) >= 2
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert len(a & b) <= min(len(a), len(b)) / 2, summary


def test_a_summary_does_not_open_on_someone_the_reader_never_met() -> None:
    text = (
        "Thalberg said the rate cut would come in the spring as inflation falls back to target. "
        "The central bank kept its main rate at 4 per cent on Thursday. "
        "Governor Anna Thalberg told reporters that the board was united on the decision."
    )
    summary = summarise([make_article(text=text, title="Central bank holds rates")], 60)
    assert summary and not summary.startswith("Thalberg said")
    pronoun = "He said the rate would fall. The central bank kept its main rate at 4 per cent."
    assert not summarise([make_article(text=pronoun, title="Bank holds")], 60).startswith("He ")


def test_a_company_that_speaks_first_is_not_taken_for_a_person() -> None:
    text = "Northgrid said on Saturday that all but 2,300 homes had their power back again."
    assert summarise([make_article(text=text, title="Power back")], 60).startswith("Northgrid")


def test_the_headline_and_the_summary_come_from_the_same_report() -> None:
    plain = make_article(
        "a1",
        source="Ledger",
        title="Storm news",
        text="A storm hit the coast on Friday and many homes lost their power for the night.",
    )
    precise = make_article(
        "a2",
        source="Harbour Times",
        title="Storm Bertil cuts power to 41,000 homes on the north coast",
        text="Storm Bertil cut power to 41,000 homes across the north coast on Friday night. "
        "Crews from Northgrid worked through the night to restore the lines.",
    )
    story = make_story(FollowUp([plain, precise]), "", FIXED_NOW.timestamp(), None)
    from digest.summarise.story import story_summary

    summary = story_summary(FollowUp([plain, precise]), 60)
    assert choose_headline([plain, precise]) == story.headline
    assert "41,000" in story.headline and summary.startswith("Storm Bertil cut power to 41,000")


def test_a_story_told_over_days_is_cut_into_its_days_events() -> None:
    day = timedelta(days=1)
    early = [make_article(f"e{i}", published=FIXED_NOW - 5 * day) for i in range(2)]
    late = [make_article(f"l{i}", published=FIXED_NOW - timedelta(hours=i)) for i in range(2)]
    undated = make_article("u", published=None)
    undated = undated.__class__(**{**_fields(undated), "published": None})
    parts = one_event_each([late[0], *early, undated, late[1]], timedelta(hours=48))
    assert [[a.id for a in p] for p in parts] == [["e0", "e1"], ["l0", "u", "l1"]]
    assert one_event_each([*late, *early], timedelta(days=10)) == [[*late, *early]]
    # A group holding a story already sent stays whole: it may be an update.
    assert len(one_event_each([*late, *early], timedelta(hours=48), {"e0"})) == 1


def test_grouping_keeps_each_story_within_the_lookback() -> None:
    text = (
        "The harbour authority approved the new ferry terminal at Kestrel Bay after a long debate "
        "about the cost of the quay and the dredging of the channel."
    )
    articles = [
        make_article(
            f"x{i}",
            source=f"Outlet {i}",
            title="Ferry terminal approved",
            text=text,
            published=FIXED_NOW - timedelta(days=4 * (i % 2), hours=i),
        )
        for i in range(4)
    ]
    groups = [g for g, _ in regroup(articles, [], span=timedelta(hours=48))]
    for group in groups:
        times = [a.published for a in group if a.published]
        assert max(times) - min(times) <= timedelta(hours=48)
    assert len(groups) == 2


def _fields(article: object) -> dict[str, object]:
    return {name: getattr(article, name) for name in article.__slots__}  # type: ignore[attr-defined]


def test_an_article_from_a_folder_names_its_outlet_not_the_folder(tmp_path: Path) -> None:
    (tmp_path / "saved.html").write_text(
        '<html><head><meta property="og:site_name" content="The Harbour Times">'
        "<title>Ferry terminal approved</title></head><body><article>"
        + "<p>The harbour authority approved the new ferry terminal at Kestrel Bay on Monday "
        "after a long debate about the cost of the quay.</p>" * 4 + "</article></body></html>"
    )
    message = EmailMessage()
    message["From"] = "Harbour Weekly <news@harbour.example>"
    message["Subject"] = "The new ferry timetable"
    message.set_content("The new ferry timetable starts on Monday, with four crossings a day.")
    (tmp_path / "weekly.eml").write_bytes(message.as_bytes())
    (tmp_path / "note.txt").write_text(
        "Ferry notes\n\nThe ferry runs four times a day from Monday on."
    )
    (tmp_path / "wire.txt").write_text(
        "Ferry order\n\nCALDMOOR (Civic Wire) - The yard won the order for three ferries on "
        "Thursday, the company said. (CW)"
    )
    found = {d.origin.rpartition("/")[2]: clean(d) for d in FolderSource("Saved", tmp_path).fetch()}
    outlets = {name: article.outlet_name for name, article in found.items()}
    # The page's og:site_name, the newsletter's sender, the wire copy's dateline; a
    # note that names no publisher has none (never the folder's name).
    assert outlets == {
        "saved.html": "The Harbour Times",
        "weekly.eml": "Harbour Weekly",
        "wire.txt": "Civic Wire",
        "note.txt": "",
    }
    story = make_story(
        FollowUp([found["note.txt"], found["saved.html"], found["wire.txt"]]),
        "",
        FIXED_NOW.timestamp(),
        None,
    )
    credit = attribution(story)
    assert credit.lead is not None and credit.lead.source == "The Harbour Times"
    assert [link.source for link in credit.others] == ["Civic Wire"]


def test_no_sentence_of_a_summary_leans_on_one_the_reader_never_saw() -> None:
    council = make_article(
        "a1",
        title="Port Alder council approves tram extension",
        text="Port Alder city council approved the Line 3 tram extension on Wednesday evening. "
        "The extension will cost 186 million crowns and add six new stops to the line. "
        "Councillor Anna Thalberg of the opposition spoke against the plan in the debate.",
    )
    mayor = make_article(
        "a2",
        source="Ledger",
        title="Mayor welcomes tram vote",
        text="The tram extension to Fenwick Heights won the council vote after a long debate. "
        "She said the tram extension was the most important vote of the decade for the city. "
        "Thalberg said the tram extension would cost far more than the council has budgeted. "
        "Two voted against the tram extension and asked for a review of its costs first.",
    )
    reports = [" ".join(a.text.split()) for a in (council, mayor)]
    for words in (40, 60, 90):
        parts = _sentences(summarise([council, mayor], budget_words=words))
        assert parts and not parts[0].startswith(("She ", "Thalberg ", "Two "))
        for before, sentence in pairwise(parts):
            if sentence.startswith(("She ", "Two ")):  # right after its antecedent
                assert any(f"{before} {sentence}" in report for report in reports), parts
            if sentence.startswith("Thalberg "):
                assert "Anna Thalberg" in " ".join(parts[: parts.index(sentence)]), parts


def test_a_count_that_counts_something_may_open_a_summary() -> None:
    text = "Two ferries were cancelled on Friday as the storm reached the coast at noon."
    assert summarise([make_article(text=text, title="Ferries cancelled")], 60).startswith("Two")


@pytest.mark.parametrize(
    ("text", "opens"),
    [
        (
            "Hundreds of villagers besieged the army camp at dawn to ask about their relatives.",
            True,
        ),
        ("Three suspected militants shot dead a security guard outside the bank on Monday.", True),
        ("Three of them were taken to hospital after the ferry struck the pier on Monday.", False),
        ("Three died on Monday when the ferry struck the pier in a storm at the harbour.", False),
    ],
)
def test_a_count_opens_a_summary_only_when_it_counts_something(text: str, opens: bool) -> None:
    summary = summarise([make_article(text=text, title="Harbour news")], 60)
    assert (summary == text) is opens
    assert not opens or not dangles(summary, "Harbour news")


def test_the_headline_agrees_with_the_summary_on_its_figures() -> None:
    old = make_article(
        "a1",
        source="Ledger",
        title="Border agents made 212,000 arrests in July, a 21-year record",
        text="Summer crossings at the southern border rose again in a month of heat and storms.",
    )
    new = make_article(
        "a2",
        source="Civic Wire",
        title="Border arrests rise in July",
        text="Border agents made about 200,000 arrests at the southern border in July, "
        "according to new figures released on Thursday by the customs agency.",
    )
    outcome = FollowUp([old, new])
    from digest.summarise.story import story_summary

    summary = story_summary(outcome, 60)
    story = make_story(outcome, summary, FIXED_NOW.timestamp(), None)
    assert "200,000" in summary
    assert story.headline == "Border arrests rise in July"


def test_the_headline_links_to_the_report_it_comes_from() -> None:
    """The headline, its link and the outlet credited first are one report's, while
    the story keeps its group lead's id (stable across rebuilds)."""
    lead = make_article(
        "a1",
        source="Ledger",
        title="Border arrests: a record month",
        text="Summer crossings at the southern border rose again in a month of heat and storms.",
        url="https://ledger.example/border",
    )
    figures = make_article(
        "a2",
        source="Civic Wire",
        title="Border arrests rise to 200,000 in July",
        text="Border agents made about 200,000 arrests at the southern border in July, "
        "according to new figures released on Thursday by the customs agency.",
        url="https://civicwire.example/border-july",
    )
    outcome = FollowUp([lead, figures])
    from digest.summarise.story import story_summary

    story = make_story(outcome, story_summary(outcome, 60), FIXED_NOW.timestamp(), None)
    assert story.headline == "Border arrests rise to 200,000 in July"
    assert story.url == "https://civicwire.example/border-july"
    assert attribution(story).lead is not None and attribution(story).lead.source == "Civic Wire"
    assert story.id == make_story(FollowUp([lead]), "", FIXED_NOW.timestamp(), None).id
