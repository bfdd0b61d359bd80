"""Extractive summaries: whole sentences, 1-3 of them, within a word budget, no junk."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from digest.language.sentences import split_sentences
from digest.models import Article
from digest.summarise.extractive import summarise

Factory = Callable[..., Article]

HOUSING = (
    "Spain's parliament approved a new housing law on Tuesday that caps rents in stressed areas. "
    "The law passed with 176 votes in favour and 167 against after months of negotiation. "
    "Tenant groups welcomed the cap but said it came too late for many families in the big cities. "
    "Landlord associations said they would challenge the law in the Constitutional Court. "
    "The housing minister said the first areas could be declared stressed before the summer. "
    "Rents in Madrid and Barcelona have risen by more than a third in the past five years. "
    "The opposition said the cap would shrink the supply of homes to let."
)

CYCLE_LANE = (
    "The city council approved a new cycle lane along the harbour front on Tuesday evening. "
    "Work on the cycle lane will start in March and should take about six months to finish."
)


def _sentences(summary: str) -> list[str]:
    return split_sentences(summary)


def test_summary_sentences_appear_verbatim_in_a_source_article(
    article_factory: Factory,
) -> None:
    articles = [
        article_factory("a1", source="Wire", text=HOUSING),
        article_factory(
            "a2",
            source="Ledger",
            text=(
                "Madrid's tenants will pay capped rents under a law passed on Tuesday. "
                "The vote followed months of talks between the coalition partners. "
                "Landlords promised to fight the new rules in court."
            ),
        ),
    ]
    summary = summarise(articles, budget_words=200)
    sentences = _sentences(summary)
    assert sentences
    for sentence in sentences:
        assert any(sentence in a.text for a in articles), sentence


def test_at_most_three_sentences_even_with_a_big_budget(article_factory: Factory) -> None:
    summary = summarise([article_factory(text=HOUSING)], budget_words=1000)
    assert 1 <= len(_sentences(summary)) <= 3


def test_one_sentence_article_gives_that_sentence(article_factory: Factory) -> None:
    text = "The harbour authority reopened the passenger pier on Saturday morning."
    assert summarise([article_factory(text=text)]) == text


@pytest.mark.parametrize("budget", [20, 30, 40, 60])
def test_word_budget_is_respected_when_sentences_are_short(
    article_factory: Factory, budget: int
) -> None:
    # Every sentence of HOUSING is 12-18 words: shorter than any of these budgets.
    assert all(len(s.split()) <= 20 for s in split_sentences(HOUSING))
    summary = summarise([article_factory(text=HOUSING)], budget_words=budget)
    assert summary
    assert len(summary.split()) <= budget


def test_smaller_budget_never_gives_a_longer_summary(article_factory: Factory) -> None:
    article = article_factory(text=HOUSING)
    short = summarise([article], budget_words=20)
    long = summarise([article], budget_words=60)
    assert len(short.split()) <= len(long.split())
    assert len(_sentences(long)) > len(_sentences(short))


def test_long_first_sentence_still_gives_one_whole_sentence(article_factory: Factory) -> None:
    lead = (
        "The regional government announced on Monday a package of measures worth 2.4 billion "
        "euros to help households and small firms with energy bills, including direct payments "
        "to pensioners, a cut in the tax on electricity, interest-free loans for insulation "
        "and a fund for local councils to keep libraries and sports halls open in winter."
    )
    rest = "Officials said the payments would begin in January. Business groups welcomed the plan."
    assert len(lead.split()) > 40
    summary = summarise([article_factory(text=f"{lead} {rest}")], budget_words=20)
    assert summary == lead


@pytest.mark.parametrize(
    "dateline",
    [
        "MADRID (EFE) - ",
        "WASHINGTON — ",
        "PARIS (AFP) – ",
        "NEW YORK (AP) — ",
        "LONDON, Nov 27 (Reuters) - ",
        "KYIV, Ukraine (AP) — ",
        "BOGOTÁ (AP) — ",
        "SÃO PAULO (Reuters) - ",
        "(CNN) - ",
        "(Civic Wire) — ",
        "NEW YORK (AP) -- ",
        "By MARTA VIDAL MADRID (AP) -- ",
        "By Marta Vidal | MADRID (Reuters) - ",
        "harbourtimes.example - ",
        "& & & MADRID (EFE) - ",
        "& & ",
        ": ",
        "_ ",
    ],
)
def test_dateline_is_stripped(article_factory: Factory, dateline: str) -> None:
    """A wire text's dateline, with the byline, site or markup debris before it."""
    summary = summarise([article_factory(text=dateline + HOUSING)], budget_words=20)
    assert summary.startswith("Spain's parliament approved a new housing law")
    assert dateline.split()[0].strip(",") not in summary


@pytest.mark.parametrize(
    "opening",
    [
        "By the end of the year the city will have opened four new schools in the east.",
        "By Tuesday evening the river had fallen below the level of the harbour wall.",
        "BERLIN-based Northgrid said on Tuesday that it would build two new wind farms.",
    ],
)
def test_an_opening_that_is_no_dateline_stays(article_factory: Factory, opening: str) -> None:
    summary = summarise([article_factory(text=opening)], budget_words=40)
    assert summary == opening


@pytest.mark.parametrize(
    "junk",
    [
        "Click here to see a map of the new cycle lane along the harbour front.",
        "Photo: the new cycle lane on the harbour front, by Jane Doe.",
        "(Photo by Jane Doe/Getty Images of the harbour front cycle lane.)",
        "Credit: Jane Doe for the city council cycle lane press office.",
        "Sign up for our newsletter about the new cycle lane and the harbour.",
        "Photograph: Jane Doe for The Harbour Times cycle lane feature.",
        "Picture: Jane Doe, Harbour Times staff photographer, on the cycle lane.",
    ],
    ids=["click-here", "photo", "getty", "credit", "sign-up", "photograph", "picture"],
)
def test_junk_lines_are_never_chosen(article_factory: Factory, junk: str) -> None:
    # Plenty of budget left: without the filter the junk line would be the third sentence.
    summary = summarise([article_factory(text=f"{CYCLE_LANE}\n\n{junk}")], budget_words=100)
    assert junk not in summary
    assert summary == CYCLE_LANE


@pytest.mark.parametrize(
    "news",
    [
        "The streaming service gained two million subscribers in the third quarter of the year.",
        "Readers who subscribed before March will keep the old price until the end of the year.",
    ],
)
def test_a_boilerplate_word_inside_a_longer_word_is_news(
    article_factory: Factory, news: str
) -> None:
    assert summarise([article_factory(text=news)], budget_words=60) == news


@pytest.mark.parametrize(
    ("language", "junk"),
    [
        ("es", "Suscríbete a nuestro boletín para recibir las noticias del puerto cada día."),
        ("es", "Suscríbase ahora y lea todas las noticias del puerto sin límites."),
        ("de", "Jetzt abonnieren und alle Nachrichten aus dem Hafen lesen."),
    ],
)
def test_junk_calls_to_action_in_other_languages(
    article_factory: Factory, language: str, junk: str
) -> None:
    lead = {
        "es": "El ayuntamiento aprobó el martes un nuevo carril bici junto al puerto de la ciudad.",
        "de": "Der Stadtrat hat am Dienstag einen neuen Radweg am Hafen der Stadt beschlossen.",
    }[language]
    article = article_factory(text=f"{lead}\n\n{junk}")
    summary = summarise([article], budget_words=100, language=language)
    assert summary == lead


def test_fragments_and_half_quotes_are_not_chosen(article_factory: Factory) -> None:
    text = (
        f"{CYCLE_LANE}\n\n"
        "and the harbour front cycle lane will also get new lights\n\n"
        "“The cycle lane on the harbour front is long overdue, the mayor said."
    )
    assert summarise([article_factory(text=text)], budget_words=100) == CYCLE_LANE


def test_near_identical_leads_from_two_outlets_appear_once(article_factory: Factory) -> None:
    wire = article_factory(
        "w1",
        source="Wire",
        text=(
            "Spain's parliament approved a new housing law on Tuesday that caps rents in "
            "stressed areas. Tenant groups welcomed the cap but said it came too late."
        ),
    )
    copy = article_factory(
        "c1",
        source="Ledger",
        text=(
            "Spain's parliament approved the new housing law on Tuesday that caps rents in "
            "stressed areas. Landlords said they would go to court over the measure."
        ),
    )
    summary = summarise([wire, copy], budget_words=100)
    leads = [s for s in _sentences(summary) if s.startswith("Spain's parliament approved")]
    assert len(leads) == 1
    assert "Landlords said they would go to court over the measure." in summary


CLOSURES = (
    "Residents gathered outside the town hall on Tuesday as officials spoke. "
    "The harbour bridge will close for repairs in March. "
    "The market square will close for repairs in April."
)


@pytest.mark.parametrize(
    ("headline", "summary"),
    [
        (
            "Harbour bridge to close for repairs",
            "The harbour bridge will close for repairs in March.",
        ),
        (
            "Market square to close for repairs",
            "The market square will close for repairs in April.",
        ),
    ],
)
def test_the_headline_says_what_the_story_is_about(
    article_factory: Factory, headline: str, summary: str
) -> None:
    # The same report under two headlines: the sentence that tells the headline's news
    # is chosen, not the scene-setting lead nor the other closure.
    article = article_factory(title=headline, text=CLOSURES)
    assert summarise([article], budget_words=10) == summary


def test_chosen_sentences_keep_reading_order(article_factory: Factory) -> None:
    article = article_factory(text=HOUSING)
    sentences = split_sentences(HOUSING)
    chosen = _sentences(summarise([article], budget_words=60))
    positions = [sentences.index(s) for s in chosen]
    assert positions == sorted(positions)


def test_deterministic(article_factory: Factory) -> None:
    def build() -> list[Article]:
        return [
            article_factory("a1", source="Wire", text=HOUSING),
            article_factory("a2", source="Ledger", text=CYCLE_LANE),
        ]

    first = summarise(build(), budget_words=45)
    assert first
    assert all(summarise(build(), budget_words=45) == first for _ in range(3))


@pytest.mark.parametrize(
    "texts",
    [[], [""], ["   \n\n  "], ["Click here. Subscribe now."]],
    ids=["no-articles", "empty-text", "blank-text", "only-junk"],
)
def test_nothing_to_say_gives_empty_string(article_factory: Factory, texts: list[str]) -> None:
    articles = [article_factory(f"a{i}", text=t) for i, t in enumerate(texts)]
    assert summarise(articles) == ""


CUT_OFF = (  # a feed's description, cut off mid-sentence by the feed
    "Port Alder's harbour authority suspended all ferry crossings to the outer islands on "
    "Thursday after a storm damaged the main passenger pier, stranding about"
)


def test_a_description_cut_off_mid_sentence_gives_its_opening(article_factory: Factory) -> None:
    summary = summarise([article_factory(text=CUT_OFF)], budget_words=60)
    assert summary == CUT_OFF + "…"


def test_a_long_cut_off_description_is_cut_at_a_word_within_the_budget(
    article_factory: Factory,
) -> None:
    summary = summarise([article_factory(text="PORT ALDER (Civic Wire) - " + CUT_OFF)], 12)
    assert summary == " ".join(CUT_OFF.split()[:12]) + "…"
    assert len(summary.split()) == 12 and "Civic Wire" not in summary


def test_a_single_overlong_sentence_is_cut_with_an_ellipsis(article_factory: Factory) -> None:
    sentence = " ".join(f"word{i}" for i in range(90)).capitalize() + "."
    summary = summarise([article_factory(text=sentence)], budget_words=60)
    assert summary.endswith("…") and len(summary.split()) == 60
    assert sentence.startswith(summary[:-1])


@pytest.mark.parametrize("opening", ["He said the ferry crossings", "But the harbour authority"])
def test_a_cut_off_text_that_leans_on_an_unseen_sentence_gives_nothing(
    article_factory: Factory, opening: str
) -> None:
    text = f"{opening} would stop after the storm damaged the pier and"
    assert summarise([article_factory(text=text)], budget_words=60) == ""


def test_a_cut_off_text_that_opens_on_an_unintroduced_surname_gives_nothing(
    article_factory: Factory,
) -> None:
    cut = article_factory("a1", text="Lund said the ferry crossings would stop after the storm")
    named = article_factory("a2", text="Maria Lund")  # the reports introduce her in full
    assert summarise([cut], budget_words=60).startswith("Lund said")  # nobody else named
    assert summarise([cut, named], budget_words=60) == ""


def test_the_excerpt_comes_from_the_first_report_that_can_open(article_factory: Factory) -> None:
    leaning = article_factory(
        "a1", text="He said all ferry crossings would stop until the pier was"
    )
    plain = article_factory("a2", text=CUT_OFF)
    assert summarise([leaning, plain], budget_words=60) == CUT_OFF + "…"


def test_a_report_that_opens_on_the_news_already_told_is_not_added(
    article_factory: Factory,
) -> None:
    """Two outlets open on the same news in their own words; the second opening adds
    power cuts after it, but read one after the other they say it twice. What another
    report adds in a sentence of its own may follow."""
    articles = [
        article_factory(
            "a1",
            source="Coast Herald",
            title="Storm Ilse hits the west coast",
            text="Storm Ilse battered the west coast overnight into Sunday, with a gust of "
            "151 km/h measured at the Cape Morrow lighthouse, forecasters said. "
            "The harbour wall at Penhallow was damaged in two places.",
        ),
        article_factory(
            "a2",
            source="Westline",
            title="Storm Ilse cuts power to 30,000 homes",
            text="Storm Ilse swept across the west coast overnight, cutting power to about "
            "30,000 homes at its peak and closing the coast road, officials said on Sunday. "
            "Trains between Morrow and Penhallow were suspended after trees fell on the line "
            "in three places.",
        ),
    ]
    summary = summarise(articles, budget_words=70)
    battered = "Storm Ilse battered the west coast overnight" in summary
    swept = "Storm Ilse swept across the west coast overnight" in summary
    assert battered != swept, summary  # one opening, never both
    assert len(_sentences(summary)) >= 2, summary  # what else the reports add still fits
