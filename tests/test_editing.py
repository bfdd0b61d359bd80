"""Editors' changes applied to an edition: found again after a rebuild changed a
story's id, idempotent, pinned stories kept by the caps and brought back."""

from __future__ import annotations

from dataclasses import replace

from digest.editorial.edits import apply_edits, cap_edition, edit_for, generated_text, pinned_ids
from digest.models import Edition, Section, Story, StoryLink
from digest.settings.editions import EditionSettings
from tests.conftest import FIXED_NOW


def story(sid: str, *articles: str, score: float = 1.0) -> Story:
    links = tuple(StoryLink(a, f"Outlet {a}", f"Title {a}", None) for a in articles or (sid,))
    return Story(
        id=sid, headline=f"Headline {sid}", summary=f"Summary {sid}.", articles=links, score=score
    )


def edition(*sections: tuple[str, list[Story]]) -> Edition:
    return Edition(
        name="morning",
        title="Morning",
        subject="Morning",
        period="2026-11-27",
        built_at=FIXED_NOW,
        sections=tuple(Section(name, tuple(stories)) for name, stories in sections),
    )


def ids(e: Edition) -> dict[str, list[str]]:
    return {s.name: [st.id for st in s.stories] for s in e.sections}


def test_an_edit_follows_its_story_when_a_rebuild_changes_the_id() -> None:
    before = edition(("World", [story("s1", "a1", "a2"), story("s2", "a3")]))
    edit = replace(edit_for(before.sections[0].stories[0], "World"), headline="Better")
    # A late article became the lead: a new id, the old articles still in it.
    after = edition(("World", [story("s9", "a0", "a1", "a2"), story("s2", "a3")]))
    changed, renamed = apply_edits(after, {"s1": edit})
    assert renamed == {"s1": "s9"}
    assert changed.sections[0].stories[0].headline == "Better"
    assert changed.sections[0].stories[1].headline == "Headline s2"


def test_applying_twice_changes_nothing_more() -> None:
    base = edition(("World", [story("s1"), story("s2"), story("s3")]), ("Sport", [story("s4")]))
    edits = {
        "s3": replace(edit_for(base.sections[0].stories[2], "World"), position=0, summary="New."),
        "s1": replace(edit_for(base.sections[0].stories[0], "World"), section="Sport"),
        "s2": replace(edit_for(base.sections[0].stories[1], "World"), dropped=True),
    }
    once, _ = apply_edits(base, edits, ["World", "Sport"])
    twice, _ = apply_edits(once, edits, ["World", "Sport"])
    assert once == twice
    assert ids(once) == {"World": ["s3"], "Sport": ["s4", "s1"]}


def test_positions_order_a_section_and_new_stories_follow() -> None:
    base = edition(("World", [story("s1"), story("s2"), story("s3")]))
    edits = {
        "s2": replace(edit_for(base.sections[0].stories[1], "World"), position=0),
        "s1": replace(edit_for(base.sections[0].stories[0], "World"), position=1),
    }
    rebuilt = edition(("World", [story("s0"), story("s1"), story("s2"), story("s3")]))
    changed, _ = apply_edits(rebuilt, edits)
    assert ids(changed) == {"World": ["s2", "s1", "s0", "s3"]}


def test_a_pinned_story_leads_its_section_and_comes_back_when_the_rebuild_lost_it() -> None:
    base = edition(("World", [story("s1"), story("s2")]))
    edits = {"s2": replace(edit_for(base.sections[0].stories[1], "World"), pinned=True)}
    changed, _ = apply_edits(base, edits)
    assert ids(changed) == {"World": ["s2", "s1"]}
    lost = edition(("World", [story("s1")]))
    back, _ = apply_edits(lost, edits)
    assert ids(back) == {"World": ["s2", "s1"]}


def test_caps_keep_pinned_stories_and_the_best_of_the_rest() -> None:
    base = edition(
        ("World", [story("s1", score=5), story("s2", score=4), story("s3", score=1)]),
        ("Sport", [story("s4", score=3)]),
    )
    config = EditionSettings(name="morning", title="M", max_stories=2, max_per_section=2)
    assert ids(cap_edition(base, config)) == {"World": ["s1", "s2"]}
    edits = {"s3": replace(edit_for(base.sections[0].stories[2], "World"), pinned=True)}
    capped = cap_edition(base, config, pinned_ids(base, edits))
    assert ids(capped) == {"World": ["s1", "s3"]}


def test_generated_text_undoes_the_editors_words() -> None:
    base = edition(("World", [story("s1")]))
    edit = replace(edit_for(base.sections[0].stories[0], "World"), headline="Mine")
    changed, _ = apply_edits(base, {"s1": edit})
    assert changed.sections[0].stories[0].headline == "Mine"
    # edit_for keeps the generated text in the copy even from the edited story
    again = edit_for(changed.sections[0].stories[0], "World", edit)
    assert again.story is not None and again.story.headline == "Headline s1"
    assert generated_text(changed, {"s1": again}) == replace(base)
