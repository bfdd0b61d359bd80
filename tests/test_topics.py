"""Sections: keyword fit, topic hints, the fallback section and configuration order."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import digest.sections.assign as assign_module
from digest.models import Article, Story, StoryLink
from digest.sections.assign import _experts, assign_sections
from digest.sections.keywords import story_words
from digest.settings.editions import SectionSettings
from digest.stories.vectors import concepts, tfidf
from tests.conftest import thread_counts, threads_inside

Factory = Callable[..., Article]

SECTIONS = (
    SectionSettings(
        name="Business",
        description="Companies, markets, jobs, trade and the economy",
        keywords=("shares", "profit", "investors", "inflation", "interest rates", "bank"),
    ),
    SectionSettings(
        name="Sport",
        description="Football, tennis, cricket and other sport",
        keywords=("match", "league", "cup", "goal", "coach", "players", "semi-final"),
    ),
    SectionSettings(
        name="Culture",
        description="Arts, film, music, books and theatre",
        keywords=("film", "album", "festival", "museum", "novel", "box office"),
    ),
)


def _story(members: Sequence[Article]) -> tuple[Story, Sequence[Article]]:
    story = Story(
        id=f"s-{members[0].id}",
        headline=members[0].title,
        summary=members[0].text[:100],
        articles=tuple(StoryLink(a.id, a.source, a.title, a.url) for a in members),
    )
    return story, members


def _section_of(result: dict[str, list[Story]], story_id: str) -> str:
    found = [name for name, stories in result.items() if any(s.id == story_id for s in stories)]
    assert len(found) == 1, found
    return found[0]


def test_keywords_pick_the_right_section(article_factory: Factory) -> None:
    match = article_factory(
        "match",
        title="Rovers reach cup semi-final",
        text="A late goal sent Rovers into the semi-final of the cup. The coach praised the players.",
    )
    bank = article_factory(
        "bank",
        title="Bank profit jumps as inflation stays high",
        text="Shares in the bank rose after it reported a record profit. Investors cheered.",
    )
    film = article_factory(
        "film",
        title="Local film wins festival prize",
        text="The film, shot in the old museum, topped the box office at the festival.",
    )
    result = assign_sections([_story([m]) for m in (match, bank, film)], SECTIONS)
    assert _section_of(result, "s-match") == "Sport"
    assert _section_of(result, "s-bank") == "Business"
    assert _section_of(result, "s-film") == "Culture"
    assert result["Other"] == []


def test_multi_word_keyword_counts_as_a_phrase(article_factory: Factory) -> None:
    article = article_factory(
        "rates",
        title="Central bankers hold interest rates",
        text="Interest rates stay where they are for another quarter, officials said on Thursday.",
    )
    result = assign_sections([_story([article])], SECTIONS)
    assert _section_of(result, "s-rates") == "Business"


def test_section_description_words_count_too(article_factory: Factory) -> None:
    article = article_factory(
        "tennis",
        title="Harbour club hosts tennis weekend",
        text="More than two hundred people took part in the tennis weekend at the harbour club.",
    )
    assert _section_of(assign_sections([_story([article])], SECTIONS), "s-tennis") == "Sport"


def test_topic_hint_names_the_section_when_no_keyword_fits(article_factory: Factory) -> None:
    article = article_factory(
        "hinted",
        title="A quiet week at the harbour",
        text="Nothing much happened on the quayside this week, residents said.",
        topic_hint="Culture",
    )
    unhinted = article_factory(
        "unhinted",
        title="A quiet week at the harbour",
        text="Nothing much happened on the quayside this week, residents said.",
    )
    result = assign_sections([_story([article]), _story([unhinted])], SECTIONS)
    assert _section_of(result, "s-hinted") == "Culture"
    assert _section_of(result, "s-unhinted") == "Other"


def test_topic_hint_outweighs_a_weak_keyword_fit(article_factory: Factory) -> None:
    text = "The league said the club and its players were sold to a supporters' trust on Monday."
    plain = article_factory("plain", title="Club sold to fans", text=text)
    hinted = article_factory("hinted", title="Club sold to fans", text=text, topic_hint="business")
    result = assign_sections([_story([plain]), _story([hinted])], SECTIONS)
    # "league" and "players" are Sport words; the hint (any case) pulls the copy to Business.
    assert _section_of(result, "s-plain") == "Sport"
    assert _section_of(result, "s-hinted") == "Business"


def test_no_fit_goes_to_other(article_factory: Factory) -> None:
    article = article_factory(
        "weather",
        title="Fog expected along the coast",
        text="Drivers were told to take care on coastal roads as thick fog rolled in overnight.",
    )
    result = assign_sections([_story([article])], SECTIONS)
    assert result["Other"] and result["Other"][0].id == "s-weather"
    assert all(result[s.name] == [] for s in SECTIONS)


def test_custom_fallback_name(article_factory: Factory) -> None:
    article = article_factory(
        "fog", title="Fog on the coast", text="Thick fog rolled in overnight."
    )
    result = assign_sections([_story([article])], SECTIONS, other="Elsewhere")
    assert list(result) == ["Business", "Sport", "Culture", "Elsewhere"]
    assert [s.id for s in result["Elsewhere"]] == ["s-fog"]
    assert "Other" not in result


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_result_keys_follow_configuration_order(order: tuple[int, ...]) -> None:
    sections = [SECTIONS[i] for i in order]
    result = assign_sections([], sections)
    assert list(result) == [s.name for s in sections] + ["Other"]
    assert all(stories == [] for stories in result.values())


def test_stories_keep_their_order_within_a_section(article_factory: Factory) -> None:
    stories = [
        _story(
            [
                article_factory(
                    f"m{i}",
                    title=f"Cup match report {i}",
                    text="The coach said the players earned the win after a late goal.",
                )
            ]
        )
        for i in range(4)
    ]
    result = assign_sections(stories, SECTIONS)
    assert [s.id for s in result["Sport"]] == ["s-m0", "s-m1", "s-m2", "s-m3"]


def test_every_story_is_assigned_exactly_once(article_factory: Factory) -> None:
    texts = [
        ("a", "Bank profit up", "Investors bought shares."),
        ("b", "Cup final tonight", "The coach named his players."),
        ("c", "Fog on the coast", "Thick fog rolled in overnight."),
    ]
    stories = [_story([article_factory(i, title=t, text=x)]) for i, t, x in texts]
    result = assign_sections(stories, SECTIONS)
    assigned = sorted(s.id for section in result.values() for s in section)
    assert assigned == ["s-a", "s-b", "s-c"]


# -- golden cases: subjects no section covers, and learning from the edition ---------

WEATHER = [
    (
        "Storm brings down power lines across the coast",
        "Gusts of 120 km/h brought down power lines overnight and left 9,000 homes without "
        "electricity. Forecasters said the storm would ease by the afternoon, but warned of "
        "heavy rain and flooding on low roads.",
    ),
    (
        "Heavy rain floods roads as storm moves inland",
        "Several roads were closed by flooding after a night of heavy rain. The storm is "
        "moving inland, and forecasters expect strong gusts and more rain before the wind "
        "drops on Sunday.",
    ),
    (
        "Forecasters warn of gusts and flooding this weekend",
        "A yellow warning for wind and rain is in place from Friday. Forecasters expect gusts "
        "near the coast and flooding where rivers are already high after the storm.",
    ),
    (
        "Clean-up begins after the storm",
        "Crews worked through the night to clear fallen trees from roads and restore power. "
        "The storm's gusts tore roofs from sheds, and flooding closed two roads by the coast.",
    ),
]


def test_stories_no_section_fits_are_grouped_under_key_terms(article_factory: Factory) -> None:
    weather = [
        _story([article_factory(f"w{i}", title=title, text=text)])
        for i, (title, text) in enumerate(WEATHER)
    ]
    garden = _story(
        [
            article_factory(
                "garden",
                title="Allotment holders show off their best tomatoes",
                text="Growers brought baskets of tomatoes and marrows to the allotment show.",
            )
        ]
    )
    bank = _story(
        [
            article_factory(
                "bank",
                title="Bank profit jumps as inflation stays high",
                text="Shares in the bank rose after a record profit. Investors cheered.",
            )
        ]
    )
    result = assign_sections([bank, *weather, garden], SECTIONS)
    names = list(result)
    assert names[:3] == ["Business", "Sport", "Culture"] and names[-1] == "Other"
    (automatic,) = names[3:-1]
    assert sorted(s.id for s in result[automatic]) == ["s-w0", "s-w1", "s-w2", "s-w3"]
    terms = automatic.split(" · ")
    assert 2 <= len(terms) <= 3
    assert all(t[:1].isupper() and t[1:].islower() for t in terms)
    assert "Storm" in terms or "Flooding" in terms or "Gusts" in terms
    assert [s.id for s in result["Other"]] == ["s-garden"]
    assert [s.id for s in result["Business"]] == ["s-bank"]


def test_two_stories_are_not_a_group(article_factory: Factory) -> None:
    weather = [
        _story([article_factory(f"w{i}", title=title, text=text)])
        for i, (title, text) in enumerate(WEATHER[:2])
    ]
    result = assign_sections(weather, SECTIONS)
    assert list(result) == ["Business", "Sport", "Culture", "Other"]
    assert [s.id for s in result["Other"]] == ["s-w0", "s-w1"]


# Words each desk uses that are not in SECTIONS' keywords or descriptions.
DESK_WORDS = {
    "Sport": "striker penalty midfield fixture keeper substitute winger scored header "
    "equaliser stoppage dressing squad captain tackle",
    "Business": "quarterly revenue dividend retailer turnover margins earnings acquisition "
    "stock exchange chief executive takeover analysts shareholders forecast",
    "Culture": "director premiere actress orchestra exhibition screenplay curator audience "
    "stage critics soprano gallery sculptor choreographer",
}
KEYWORDS = {
    "Sport": ["match", "league", "cup", "goal", "coach", "players"],
    "Business": ["shares", "profit", "investors", "bank", "inflation"],
    "Culture": ["film", "album", "festival", "museum", "novel"],
}
COMMON = [
    "the",
    "town",
    "said",
    "on",
    "monday",
    "after",
    "a",
    "week",
    "of",
    "talks",
    "about",
    "what",
    "comes",
    "next",
    "for",
    "everyone",
]


def _desk_story(make: Factory, rng: random.Random, desk: str, i: int, keywords: bool) -> Article:
    words = DESK_WORDS[desk].split()
    pool = words * 3 + COMMON + (KEYWORDS[desk] * 2 if keywords else [])
    title = " ".join(rng.sample(words, 3) + (rng.sample(KEYWORDS[desk], 1) if keywords else []))
    text = ". ".join(" ".join(rng.choice(pool) for _ in range(12)) for _ in range(5))
    return make(f"{desk}-{'k' if keywords else 'q'}{i:02d}", title=title.capitalize(), text=text)


def _desk_edition(make: Factory, seed: int, keyworded: int) -> list[Article]:
    """24 stories per desk, the first ``keyworded`` of each with section keywords."""
    rng = random.Random(seed)
    return [
        _desk_story(make, rng, desk, i, keywords=i < keyworded)
        for desk in DESK_WORDS
        for i in range(24)
    ]


def test_a_large_edition_learns_each_section_vocabulary(article_factory: Factory) -> None:
    # Keywords mark some stories; the rest share only the desk's other words. With
    # enough stories the sections learn those words and place the quiet stories too.
    articles = _desk_edition(article_factory, seed=5, keyworded=14)
    result = assign_sections([_story([a]) for a in articles], SECTIONS)
    quiet = {a.id: a.id.split("-")[0] for a in articles if "-q" in a.id}
    placed = {s.id[2:]: name for name, stories in result.items() for s in stories}
    right = sum(placed[i] == desk for i, desk in quiet.items())
    assert right >= 0.8 * len(quiet)
    keyworded = [a.id for a in articles if "-k" in a.id]
    assert all(placed[i] == i.split("-")[0] for i in keyworded)


def test_sections_do_not_depend_on_the_order_of_the_stories(article_factory: Factory) -> None:
    # Learning (LSA, neighbours, self-training) reads its rows in order; the stories
    # are read in a canonical order, so only their own words place them.
    stories = [_story([a]) for a in _desk_edition(article_factory, seed=7, keyworded=8)]
    first = assign_sections(stories, SECTIONS)
    membership = {name: {s.id for s in members} for name, members in first.items()}
    for seed in range(3):
        shuffled = stories[:]
        random.Random(seed).shuffle(shuffled)
        again = assign_sections(shuffled, SECTIONS)
        assert {name: {s.id for s in members} for name, members in again.items()} == membership
        # ... and within a section the stories keep the order they came in.
        position = {s[0].id: i for i, s in enumerate(shuffled)}
        for members in again.values():
            assert [position[s.id] for s in members] == sorted(position[s.id] for s in members)


def test_sections_are_learned_on_one_numeric_thread(
    article_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BLAS and OpenMP threads contend for the cores other processes use: the section
    # stage asks for one, whatever the process had, and gives the setting back.
    seen = threads_inside(monkeypatch, assign_module, "_assign")
    stories = [_story([a]) for a in _desk_edition(article_factory, seed=3, keyworded=8)]
    with threadpool_limits(limits=2):
        assign_sections(stories, SECTIONS)
        assert seen == [{1}]
        assert thread_counts() == {2}


def test_two_experts_learn_short_items(article_factory: Factory) -> None:
    # Headline-and-a-sentence items: the regression and the naive Bayes expert,
    # trained on half of each desk, place the other half; a section without
    # training stories keeps probability 0 and every row is a distribution.
    rng = random.Random(3)
    desks = list(DESK_WORDS)
    articles = [
        article_factory(
            f"{desk}{i}",
            title=" ".join(rng.sample(DESK_WORDS[desk].split(), 3)).capitalize(),
            text=" ".join(rng.sample(DESK_WORDS[desk].split(), 3) + rng.sample(COMMON, 5)),
        )
        for desk in desks
        for i in range(12)
    ]
    read = [story_words([a]) for a in articles]
    words = tfidf([" ".join(s.head + s.body) for s in read], min_df=2).rows
    features = sp.hstack([words, sp.csr_matrix(concepts(words, 10))]).tocsr()
    target = np.repeat(np.arange(len(desks)), 12)
    train = np.arange(len(articles)) % 2 == 0
    probabilities = _experts(words, features, target, train, len(desks) + 1)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities[:, -1] == 0).all()
    assert (probabilities.argmax(axis=1)[~train] == target[~train]).mean() >= 0.9


def test_a_story_in_no_group_keeps_its_learned_section_with_a_passing_mention(
    article_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neighbours bear nothing out here, so only a story's own words can. One passing
    # mention of a Business word is too little for a story on an uncovered subject
    # (the weather stories stay grouped), but a lone story the classifiers place in
    # Business and that names it keeps that section rather than going to Other.
    monkeypatch.setattr("digest.sections.assign.MIN_SUPPORT", 1.1)
    rng = random.Random(5)
    desks = [
        _desk_story(article_factory, rng, desk, i, keywords=True)
        for desk in DESK_WORDS
        for i in range(24)
    ]
    weather = [
        article_factory(f"w{k}{i}", title=title, text=text)
        for k in range(3)
        for i, (title, text) in enumerate(WEATHER)
    ]
    ferry = article_factory(
        "ferry",
        title="Ferry operator cuts winter crossings",
        text="The ferry operator will run fewer crossings from January, when few "
        "passengers travel. Its shares were unchanged.",
    )
    quiet = article_factory(
        "choir", title="Choir seeks new voices", text="The village choir meets on Tuesdays."
    )
    result = assign_sections([_story([a]) for a in [*desks, *weather, ferry, quiet]], SECTIONS)
    assert _section_of(result, "s-ferry") == "Business"
    assert _section_of(result, "s-choir") == "Other"
    (group,) = [name for name in result if name not in {"Business", "Sport", "Culture", "Other"}]
    assert sorted(s.id for s in result[group]) == sorted(f"s-{a.id}" for a in weather)


def test_an_edition_without_configured_sections_groups_every_story(
    article_factory: Factory,
) -> None:
    """No [[editions.sections]]: automatic groups and the fallback hold every story."""
    weather = [
        _story([article_factory(f"w{i}", title=title, text=text)])
        for i, (title, text) in enumerate(WEATHER)
    ]
    result = assign_sections(weather, ())
    assert sorted(s.id for stories in result.values() for s in stories) == sorted(
        f"s-w{i}" for i in range(len(WEATHER))
    )
