"""The reader checks of `make eval` (benchmarks/reader_checks.py) see each defect a
subscriber would see, on made-up editions: an outlet named twice where the email
names outlets, a headline whose figure the summary and its reports do not bear out,
a summary that opens on a bare count or uses a surname nobody introduced."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.reader_checks import check, dangles, repeats, sentences


def _story(headline: str, summary: str, *sources: tuple[str, str]) -> dict[str, Any]:
    return {
        "id": "s",
        "headline": headline,
        "summary": summary,
        "articles": [i for i, _ in sources],
        "sources": [{"id": i, "source": o, "title": "t", "url": None} for i, o in sources],
    }


def _edition(*stories: dict[str, Any]) -> dict[str, Any]:
    return {"sections": [{"name": "News", "stories": list(stories)}]}


ARTICLES = {
    "a": {"source": "Harbour Times", "title": "Ferry order", "text": "The yard won an order."},
    "b": {"source": "Civic Wire", "title": "Ferry order", "text": "The yard won an order."},
    "c": {"source": "Civic Wire", "title": "Ferry order", "text": "The yard won an order."},
}


def test_an_outlet_with_two_tellings_is_named_once_and_not_counted() -> None:
    story = _story(
        "Yard wins order", "The yard won an order.", ("a", "HT"), ("b", "CW"), ("c", "CW")
    )
    assert check(_edition(story), ARTICLES)["outlet_named_twice"] == 0


def test_an_outlet_named_twice_in_the_text_part_is_counted() -> None:
    story = _story("Yard wins order", "The yard won an order.", ("a", "HT"), ("b", "CW"))
    text = "* Yard wins order\n  Also reported by: Civic Wire, Ledger, Civic Wire and 2 more\n"
    assert check(_edition(story), ARTICLES, text)["outlet_named_twice"] == 1
    fine = "* Yard wins order\n  Also reported by: Civic Wire, Ledger and 2 more\n"
    assert check(_edition(story), ARTICLES, fine)["outlet_named_twice"] == 0


def test_a_headline_figure_the_summary_and_its_reports_do_not_bear_out_is_counted() -> None:
    articles = {
        "a": {"title": "Border agents made 212,000 arrests in July", "text": "Old report."},
        "b": {"title": "Arrests rise", "text": "Agents made about 200,000 arrests in July."},
    }
    summary = "Agents made about 200,000 arrests in July."
    disagree = _story("Border agents made 212,000 arrests in July", summary, ("a", ""), ("b", ""))
    assert check(_edition(disagree), articles)["headline_number_unsupported"] == 1
    agree = _story("Arrests rise to 200,000", summary, ("a", ""), ("b", ""))
    assert check(_edition(agree), articles)["headline_number_unsupported"] == 0


def test_a_bare_count_or_an_unmet_surname_dangles_wherever_it_is() -> None:
    told = "Governor Anna Thalberg spoke. The bank held its rate."
    assert dangles("Two voted for a cut. The bank held its rate.", "Bank holds", told)
    assert not dangles("Two members voted for a cut. The bank held.", "Bank holds", told)
    assert dangles("The bank held its rate. Thalberg said it would fall.", "Bank holds", told)
    assert not dangles(
        "Governor Anna Thalberg held the rate. Thalberg said it would fall.", "Bank holds", told
    )
    assert not dangles("The bank held. Thalberg said it would fall.", "Thalberg holds", told)


@pytest.mark.parametrize(
    ("opening", "bare"),
    [
        ("Three of them were hurt.", True),
        ("Two of the victims were children.", True),
        ("Three died yesterday.", True),
        ("Two voted Labour.", True),
        ("Three accused the minister of lying.", True),
        ("Hundreds of villagers besieged the camp.", False),
        ("Three suspected militants shot a guard.", False),
        ("Two injured workers were taken to hospital.", False),
    ],
)
def test_a_count_dangles_only_when_it_counts_nothing(opening: str, bare: bool) -> None:
    assert dangles(opening, "Headline") is bare


def test_two_sentences_sharing_most_of_the_shorter_ones_words_repeat() -> None:
    assert repeats(
        "Storm Bertil cut power to 41,000 homes overnight. "
        "Overnight Storm Bertil left 41,000 homes without power."
    )
    assert not repeats("Storm Bertil cut power to 41,000 homes. Schools stay closed in Millbrook.")


def test_the_checks_split_sentences_where_a_reader_does() -> None:
    assert sentences("Dr. Scott Atlas spoke. The U.S. Senate voted.") == [
        "Dr. Scott Atlas spoke.",
        "The U.S. Senate voted.",
    ]
    # A tokenised ".357" ("pulled out a. 357 revolver") is one sentence, not two.
    assert len(sentences("Police said he pulled out a. 357 revolver in the street.")) == 1
    assert len(sentences("He won 3-1. 357 fans were there.")) == 2
