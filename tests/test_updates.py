"""Updates: what counts as substantial new reporting on a story already sent."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from digest.models import Article, StoryRef
from digest.stories.updates import MIN_NEW_FACTS, facts_in, follow_up, known_words, novelty

Factory = Callable[..., Article]

# The story as the morning edition sent it: a wire report and an outlet's own telling.
BRIDGE_WIRE = (
    "The Quayside swing bridge in Port Alder was closed to all traffic on Tuesday after "
    "inspectors found a crack in one of the steel girders that carry the road deck, the "
    "city's transport department said.\n\n"
    "About 18,000 vehicles cross the bridge every day. Buses on routes 4 and 11 will be "
    "diverted over the Fenwick road, adding up to 20 minutes to journeys.\n\n"
    "Transport director Lena Holm said engineers would decide within a week whether the "
    "bridge could reopen with a weight limit. Shopkeepers on Quay Street said the closure "
    "came at the worst possible time, weeks before the Christmas market."
)
BRIDGE_OWN_WORDS = (
    "Drivers in Port Alder face long detours after the city shut the Quayside swing bridge "
    "on Tuesday, when a cracked steel girder was discovered under the road.\n\n"
    "The bridge normally carries some 18,000 cars, vans and buses a day. Routes 4 and 11 "
    "now go round by the Fenwick road, which the transport department warned could add 20 "
    "minutes.\n\n"
    "Lena Holm, who runs the department, said a decision on reopening the crossing with a "
    "weight limit would come within a week."
)
# Late, from another outlet: the same report in other words, no new fact.
BRIDGE_REWRITE = (
    "Port Alder's Quayside swing bridge has been shut to traffic since Tuesday because "
    "inspectors discovered a crack in a steel girder beneath the road deck.\n\n"
    "Around 18,000 vehicles use the bridge each day, and buses on routes 4 and 11 are being "
    "sent along the Fenwick road instead, with journeys up to 20 minutes longer.\n\n"
    "Engineers will decide within a week whether it can reopen with a weight limit, "
    "transport director Lena Holm said. Traders on Quay Street fear for the Christmas market."
)
# Late: the same again, plus one quote from someone new.
BRIDGE_QUOTE = (
    BRIDGE_REWRITE
    + "\n\n"
    + '"We have had half the usual customers since the bridge closed," said Jonas Berg, '
    "who runs a bakery on the street."
)
# Late: what happened since, with the background recalled in one sentence.
BRIDGE_FOLLOW_UP = (
    "Engineers said on Friday that the Quayside swing bridge will stay closed until at least "
    "15 January, because the crack found on Tuesday runs through two girders rather than "
    "one.\n\n"
    "Repairs will cost about 2.4 million crowns and will be carried out by Halden Steel, "
    "which built the bridge in 1987. The work needs a floating crane from Kestrel Bay.\n\n"
    "Council leader Ingrid Haller apologised to traders and promised a free shuttle bus "
    "across the harbour from Monday, running every 12 minutes.\n\n"
    "About 18,000 vehicles a day used the bridge before it was closed."
)
MORNING = StoryRef("morning/2026-11-27", "bridge")


def _sent(make: Factory) -> list[Article]:
    return [
        make(
            "wire",
            source="Civic Wire",
            title="Cracked girder shuts Quayside bridge",
            text=BRIDGE_WIRE,
        ),
        make(
            "times",
            source="Harbour Times",
            title="Detours as Quayside bridge closes",
            text=BRIDGE_OWN_WORDS,
        ),
    ]


def _late(make: Factory, text: str, id: str = "late") -> Article:
    return make(id, source="Northern Ledger", title="Quayside bridge to stay shut", text=text)


# -- facts ----------------------------------------------------------------------------


def test_facts_are_numbers_and_names() -> None:
    sentence = "Maria Lund, the chief executive, said 4,000 people were stranded on Thursday."
    assert facts_in(sentence) == {("maria", "lund"), ("4000",), ("thursday",)}


def test_a_capital_that_only_starts_the_sentence_is_no_name() -> None:
    assert facts_in("Inspectors found a crack in the bridge.") == set()
    assert facts_in("The Riverside pool will shut in March.") == {("riverside",), ("march",)}
    assert facts_in("In March the Millbrook Otters swim elsewhere.") == {
        ("march",),
        ("millbrook", "otters"),
    }


def test_possessives_and_thousands_separators_are_the_same_fact() -> None:
    known = known_words([Article("a", "S", "t", "Port Alder has 18000 homes.")])
    late = Article("b", "S", "t", "Officials said Port Alder’s 18,000 homes were safe tonight.")
    assert novelty(late, known).facts == frozenset()


# -- the rule, on golden cases ------------------------------------------------------


def test_a_rewrite_adds_no_fact(article_factory: Factory) -> None:
    found = novelty(_late(article_factory, BRIDGE_REWRITE), known_words(_sent(article_factory)))
    assert found.facts == frozenset()
    assert not found.is_new_reporting


def test_a_rewrite_with_one_new_quote_is_not_new_reporting(article_factory: Factory) -> None:
    found = novelty(_late(article_factory, BRIDGE_QUOTE), known_words(_sent(article_factory)))
    assert found.facts == {("jonas", "berg")}
    assert len(found.sentences) == 1
    assert not found.is_new_reporting


def test_a_follow_up_with_new_facts_is_new_reporting(article_factory: Factory) -> None:
    found = novelty(_late(article_factory, BRIDGE_FOLLOW_UP), known_words(_sent(article_factory)))
    assert found.facts == {
        ("friday",),
        ("15",),
        ("january",),
        ("2.4",),
        ("halden", "steel"),
        ("1987",),
        ("kestrel", "bay"),
        ("ingrid", "haller"),
        ("monday",),
        ("12",),
    }
    assert len(found.facts) >= MIN_NEW_FACTS
    # The recap of the background holds no new fact.
    assert found.counted == 5 and len(found.sentences) == 4
    assert found.is_new_reporting


def test_new_facts_in_a_few_lines_of_a_long_recap_are_not_enough(
    article_factory: Factory,
) -> None:
    # Most of the text retells what was sent: new facts, but not most of what it says.
    recap = "\n\n".join([BRIDGE_REWRITE, BRIDGE_OWN_WORDS, BRIDGE_WIRE])
    late = _late(article_factory, recap + "\n\n" + BRIDGE_FOLLOW_UP.split("\n\n")[0])
    found = novelty(late, known_words(_sent(article_factory)))
    assert len(found.facts) == 3
    assert not found.is_new_reporting


# -- what a cluster becomes ---------------------------------------------------------


def test_a_cluster_of_new_articles_is_a_new_story(article_factory: Factory) -> None:
    group = _sent(article_factory)
    outcome = follow_up(group, {})
    assert outcome.articles == group and outcome.update_of is None


def test_a_cluster_of_sent_articles_is_dropped(article_factory: Factory) -> None:
    sent = _sent(article_factory)
    assert follow_up(sent, {a.id: MORNING for a in sent}).articles == []


def test_a_late_rewrite_of_a_sent_story_is_dropped(article_factory: Factory) -> None:
    sent = _sent(article_factory)
    group = [*sent, _late(article_factory, BRIDGE_REWRITE)]
    assert follow_up(group, {a.id: MORNING for a in sent}).articles == []


def test_a_late_follow_up_becomes_an_update_of_the_sent_story(article_factory: Factory) -> None:
    sent = _sent(article_factory)
    follow = _late(article_factory, BRIDGE_FOLLOW_UP, "follow")
    rewrite = _late(article_factory, BRIDGE_REWRITE, "rewrite")
    outcome = follow_up([*sent, rewrite, follow], {a.id: MORNING for a in sent})
    assert outcome.update_of == MORNING
    # Only new articles, the one with new reporting first; no sent article comes back.
    assert [a.id for a in outcome.articles] == ["follow", "rewrite"]
    (reporting,) = outcome.reporting
    assert reporting.id == "follow"
    assert "Halden Steel" in reporting.text
    assert "18,000 vehicles a day used the bridge" not in reporting.text  # the recap


def test_an_update_links_to_the_story_most_of_its_sent_articles_belong_to(
    article_factory: Factory,
) -> None:
    wire, times = _sent(article_factory)
    extra = article_factory("extra", source="Other", text=BRIDGE_REWRITE)
    older = StoryRef("morning/2026-11-26", "old")
    follow = _late(article_factory, BRIDGE_FOLLOW_UP)
    earlier = {"wire": MORNING, "times": older, "extra": older}
    assert follow_up([wire, times, extra, follow], earlier).update_of == older
    # A tie goes to the latest edition.
    earlier = {"wire": MORNING, "times": older}
    assert follow_up([wire, times, follow], earlier).update_of == MORNING


def test_the_outcome_does_not_depend_on_the_order_within_the_cluster(
    article_factory: Factory,
) -> None:
    sent = _sent(article_factory)
    earlier = {a.id: MORNING for a in sent}
    late = [
        _late(article_factory, BRIDGE_FOLLOW_UP, "follow"),
        _late(article_factory, BRIDGE_QUOTE, "quote"),
    ]
    outcomes = {
        (frozenset(a.id for a in outcome.articles), outcome.update_of)
        for order in itertools.permutations([*sent, *late])
        for outcome in [follow_up(list(order), earlier)]
    }
    assert outcomes == {(frozenset({"follow", "quote"}), MORNING)}
