"""Headlines: cleaned of site names and tags; the most informative member wins."""

from __future__ import annotations

import pytest

from digest.stories.headlines import choose_headline, clean_headline, informativeness
from tests.conftest import make_article


@pytest.mark.parametrize(
    ("title", "source", "expected"),
    [
        ("Storm closes ferry pier | Live updates", None, "Storm closes ferry pier"),
        ("Storm closes ferry pier – live", None, "Storm closes ferry pier"),
        ("LIVE: Storm closes ferry pier", None, "Storm closes ferry pier"),
        ("WATCH: Mayor opens the new bridge", None, "Mayor opens the new bridge"),
        ("Council approves tram | The Harbour Times", "The Harbour Times", "Council approves tram"),
        ("Council approves tram - harbourtimes.example", None, "Council approves tram"),
        ("Council approves tram | Live updates | Harbour Times", None, "Council approves tram"),
        ("Opinion | Why the tram is a mistake", None, "Why the tram is a mistake"),
        # A dash inside the headline is not a site name.
        (
            "Fed raises rates - markets fall sharply",
            None,
            "Fed raises rates - markets fall sharply",
        ),
        ("Biden, Xi meet in Bali", None, "Biden, Xi meet in Bali"),
    ],
)
def test_clean_headline(title: str, source: str | None, expected: str) -> None:
    assert clean_headline(title, source) == expected


def test_statements_beat_questions_and_teasers() -> None:
    plain = "Port Alder council approves 4.2 km tram extension to Fenwick Heights"
    assert informativeness(plain) > informativeness("Will the tram ever arrive?")
    assert informativeness(plain) > informativeness("Here's why everyone is talking about trams")
    assert informativeness(plain) > informativeness("TRAM CHAOS AS COUNCIL VOTES")


def test_choose_headline_prefers_the_informative_member() -> None:
    lead = make_article("a", title="What we know about the tram vote | Harbour Times")
    other = make_article("b", title="Council approves 4.2 km tram extension after 31-12 vote")
    assert (
        choose_headline([lead, other]) == "Council approves 4.2 km tram extension after 31-12 vote"
    )


def test_choose_headline_keeps_the_lead_on_a_tie() -> None:
    lead = make_article("a", title="Council approves tram extension")
    other = make_article("b", title="Council backs tram extension")
    assert choose_headline([lead, other]) == "Council approves tram extension"
