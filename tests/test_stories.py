"""Stories: merging articles about the same event, the lead article, ids and ranking."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from digest.models import Article
from digest.stories import group_articles, story_id, story_score

Factory = Callable[..., Article]
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

FERRY_WIRE = (
    "Port Alder's harbour authority suspended all ferry crossings to the outer islands on "
    "Thursday after a storm damaged the main passenger pier, stranding about 400 travellers on "
    "the mainland. Engineers found cracks in two of the concrete pylons that hold up the pier and "
    "said it would be unsafe to berth vessels until repairs were made. The authority's chief "
    "executive, Maria Lund, said temporary pontoons could be in place by Saturday if the weather "
    "calmed. Island residents who need medical care will be flown to the mainland by the "
    "coastguard helicopter in the meantime. The ferry operator said tickets for cancelled "
    "sailings would be refunded in full and that extra crossings would be added once the "
    "service resumed."
)
# The same wire copy as another outlet ran it: a couple of words changed.
FERRY_WIRE_EDITED = (
    FERRY_WIRE.replace("suspended", "halted")
    .replace("400 travellers", "400 passengers")
    .replace("berth vessels", "berth ships")
)
# The same event in an outlet's own words.
FERRY_OWN_WORDS = (
    "Hundreds of people hoping to reach the outer islands were left stuck in Port Alder after "
    "storm damage forced the harbour authority to stop every ferry sailing. Inspectors discovered "
    "that concrete pylons under the passenger pier had cracked during Wednesday night's gale, and "
    "the authority said no ferry could dock there safely. Maria Lund, who runs the harbour "
    "authority, told reporters that floating pontoons might allow crossings to restart at the "
    "weekend. Until then the coastguard will use its helicopter to carry islanders needing "
    "hospital treatment. Passengers with tickets for cancelled ferries can claim a full refund "
    "from the operator, which promised additional sailings when the pier reopens."
)
LIBRARY = (
    "The city library on Market Square will stay open until ten at night from next month, the "
    "council said, after a survey found that students and shift workers wanted somewhere quiet "
    "to read and study in the evening. The longer hours will be paid for by closing a "
    "little-used branch in the business district, which lends fewer than fifty books a week. "
    "Librarians said the main building would also get new desks, more power sockets and a room "
    "for children's reading groups. The change is expected to cost about 120,000 pounds a year, "
    "and the council will review it after twelve months to see whether enough people use the "
    "library late."
)
FOOTBALL = (
    "Port Alder Rovers reached the semi-final of the national cup with a 2-1 win over Eastfield "
    "United on Saturday, thanks to a late header from their captain, Tom Reyes. Eastfield had "
    "taken the lead just before half-time when a deflected shot looped over the Rovers "
    "goalkeeper. Reyes equalised from the penalty spot after an hour and then rose highest to "
    "meet a corner in the ninetieth minute. The manager, Sandra Pike, said the squad had shown "
    "great character and that the club's supporters deserved a day out at the national "
    "stadium. Rovers will learn their semi-final opponents when the draw is made on Monday "
    "evening."
)


def _ids(groups: Sequence[Sequence[Article]]) -> set[frozenset[str]]:
    """The partition as a set of id sets (group order does not matter)."""
    return {frozenset(a.id for a in g) for g in groups}


def _all_articles(make: Factory) -> list[Article]:
    return [
        make(
            "wire", source="Civic Wire", title="Storm shuts Port Alder ferry pier", text=FERRY_WIRE
        ),
        make(
            "ledger",
            source="Northern Ledger",
            title="Islanders stranded as ferries halted",
            text=FERRY_WIRE_EDITED,
        ),
        make(
            "times",
            source="Harbour Times",
            title="Hundreds stuck as storm wrecks ferry pier",
            text=FERRY_OWN_WORDS,
        ),
        make(
            "library",
            source="Harbour Times",
            title="Library to open late into the evening",
            text=LIBRARY,
        ),
        make("rovers", source="Northern Ledger", title="Rovers into cup semi-final", text=FOOTBALL),
    ]


def test_texts_are_realistic_lengths() -> None:
    for text in (FERRY_WIRE, FERRY_WIRE_EDITED, FERRY_OWN_WORDS, LIBRARY, FOOTBALL):
        assert 80 <= len(text.split()) <= 150


def test_no_articles_no_stories() -> None:
    assert group_articles([]) == []


def test_single_article_is_its_own_story(article_factory: Factory) -> None:
    article = article_factory("only", text=LIBRARY)
    assert group_articles([article]) == [[article]]


def test_exact_copies_merge(article_factory: Factory) -> None:
    copies = [
        article_factory("a", source="Civic Wire", title="Storm shuts ferry pier", text=FERRY_WIRE),
        article_factory("b", source="Northern Ledger", title="Ferries stop", text=FERRY_WIRE),
        article_factory("c", source="Harbour Times", title="Pier closed", text=FERRY_WIRE),
    ]
    other = article_factory("lib", source="Harbour Times", title="Library hours", text=LIBRARY)
    groups = group_articles([*copies, other])
    assert _ids(groups) == _ids([copies, [other]])


def test_exact_copies_merge_even_at_a_strict_threshold(article_factory: Factory) -> None:
    # Copies merge by fingerprint, before any similarity threshold applies.
    a = article_factory("a", source="One", title="Headline one", text=FERRY_WIRE)
    b = article_factory("b", source="Two", title="Another headline", text=FERRY_WIRE)
    assert _ids(group_articles([a, b], threshold=0.999)) == {frozenset({"a", "b"})}


def test_near_copy_with_new_headline_merges(article_factory: Factory) -> None:
    wire = article_factory(
        "wire", source="Civic Wire", title="Storm shuts Port Alder ferry pier", text=FERRY_WIRE
    )
    edited = article_factory(
        "ledger",
        source="Northern Ledger",
        title="Islanders stranded as ferries halted",
        text=FERRY_WIRE_EDITED,
    )
    assert FERRY_WIRE != FERRY_WIRE_EDITED
    assert _ids(group_articles([wire, edited])) == {frozenset({"wire", "ledger"})}


def test_same_event_in_different_words_merges(article_factory: Factory) -> None:
    wire = article_factory(
        "wire", source="Civic Wire", title="Storm shuts Port Alder ferry pier", text=FERRY_WIRE
    )
    own = article_factory(
        "times",
        source="Harbour Times",
        title="Hundreds stuck as storm wrecks ferry pier",
        text=FERRY_OWN_WORDS,
    )
    assert _ids(group_articles([wire, own])) == {frozenset({"wire", "times"})}


def test_different_stories_stay_apart(article_factory: Factory) -> None:
    groups = group_articles(_all_articles(article_factory))
    assert len(groups) == 3
    assert _ids(groups) == {
        frozenset({"library"}),
        frozenset({"rovers"}),
        frozenset({"ledger", "times", "wire"}),
    }


def test_every_article_lands_in_exactly_one_story(article_factory: Factory) -> None:
    articles = _all_articles(article_factory)
    groups = group_articles(articles)
    seen = [a.id for g in groups for a in g]
    assert sorted(seen) == sorted(a.id for a in articles)


def test_two_article_story_is_led_by_the_longer_text(article_factory: Factory) -> None:
    short = article_factory("a", source="One", title="Ferry pier shut", text=FERRY_OWN_WORDS)
    longer = article_factory("z", source="Two", title="Storm shuts ferry pier", text=FERRY_WIRE)
    assert len(longer.text) > len(short.text)
    for order in ([short, longer], [longer, short]):
        assert [a.id for a in group_articles(order)[0]] == ["z", "a"]


def test_exact_copies_are_led_by_the_smallest_id(article_factory: Factory) -> None:
    b = article_factory("b", source="Two", title="Pier shut", text=FERRY_WIRE)
    a = article_factory("a", source="One", title="Pier shut", text=FERRY_WIRE)
    assert group_articles([b, a])[0][0].id == "a"


def test_lead_and_story_id_do_not_depend_on_input_order(article_factory: Factory) -> None:
    articles = _all_articles(article_factory)
    results = set()
    for order in itertools.permutations(articles):
        groups = group_articles(list(order))
        ferry = next(g for g in groups if any(a.id == "wire" for a in g))
        results.add((tuple(a.id for a in ferry), story_id(ferry)))
    assert len(results) == 1
    ((members, _),) = results
    assert set(members) == {"wire", "ledger", "times"}


def test_lead_of_a_larger_story_is_its_most_central_article(article_factory: Factory) -> None:
    # Two wire copies and one own-words telling: a wire copy is closest to the others.
    ferry = group_articles(_all_articles(article_factory)[:3])
    assert len(ferry) == 1
    assert ferry[0][0].id in {"wire", "ledger"}
    assert ferry[0][-1].id == "times"


def test_story_id_depends_on_the_lead_only(article_factory: Factory) -> None:
    lead = article_factory("lead-1", text=FERRY_WIRE)
    other = article_factory("other-2", text=FERRY_OWN_WORDS)
    third = article_factory("third-3", text=LIBRARY)
    sid = story_id([lead, other])
    assert sid == story_id([lead, third])
    assert sid == story_id([lead])
    assert sid != story_id([other, lead])
    assert len(sid) == 12
    assert all(ch in "0123456789abcdef" for ch in sid)


def test_more_outlets_rank_above_fewer_even_when_older(article_factory: Factory) -> None:
    now = NOW.timestamp()
    fresh_single = [article_factory("a", source="One", published=NOW)]
    old_pair = [
        article_factory("b", source="One", published=NOW - timedelta(days=3)),
        article_factory("c", source="Two", published=NOW - timedelta(days=3)),
    ]
    assert story_score(old_pair, now) > story_score(fresh_single, now)


def test_same_outlet_twice_counts_as_one_outlet(article_factory: Factory) -> None:
    now = NOW.timestamp()
    twice = [
        article_factory("a", source="One", published=NOW),
        article_factory("b", source="One", published=NOW),
    ]
    once = [article_factory("c", source="One", published=NOW)]
    assert story_score(twice, now) == pytest.approx(story_score(once, now))


def test_fresher_ranks_above_older(article_factory: Factory) -> None:
    now = NOW.timestamp()
    fresh = [article_factory("a", source="One", published=NOW - timedelta(hours=1))]
    old = [article_factory("b", source="One", published=NOW - timedelta(hours=30))]
    assert story_score(fresh, now) > story_score(old, now)


def test_a_day_halves_freshness(article_factory: Factory) -> None:
    now = NOW.timestamp()
    just_now = story_score([article_factory("a", published=NOW)], now)
    one_day = story_score([article_factory("b", published=NOW - timedelta(days=1))], now)
    assert just_now == pytest.approx(2.0)
    assert one_day == pytest.approx(1.5)


def test_freshness_uses_the_newest_member(article_factory: Factory) -> None:
    now = NOW.timestamp()
    group = [
        article_factory("a", source="One", published=NOW - timedelta(days=2)),
        article_factory("b", source="Two", published=NOW),
    ]
    assert story_score(group, now) == pytest.approx(3.0)


def test_articles_of_stop_words_only_do_not_crash(article_factory: Factory) -> None:
    a = article_factory("a", title="It is", text="It is.")
    b = article_factory("b", title="So be it", text="So be it.")
    groups = group_articles([a, b])
    assert sorted(x.id for g in groups for x in g) == ["a", "b"]
    # Three exact copies go through the lead choice, which compares them too.
    copies = [article_factory(i, title="It is", text="It is.") for i in ("z", "y", "x")]
    (story,) = group_articles(copies)
    assert [x.id for x in story] == ["x", "y", "z"]
