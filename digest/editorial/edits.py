"""Editors' changes to an edition: rewrite a headline or summary, move a story to
another section, reorder, pin, drop. No I/O.

Changes are kept per story as small JSON objects (``store.desk.EditionEdits``) and
applied to an edition by :func:`apply_edits`, both when the editor makes them and
after every rebuild, so a rebuilt draft keeps them. A story is found again after a
rebuild by its id or, when a late article changed its lead, by the articles it
shares with the story the editor changed.

An edit object may hold:

- ``articles``: the story's article ids when it was edited (to find it again);
- ``story``, ``home``: a copy of the story and its section, to bring it back;
- ``headline``, ``summary``: the editor's text;
- ``section``: the section it was moved to;
- ``position``: its place in its section once the editor reordered that section;
- ``pinned``: kept at the top of its section and never cut by the caps;
- ``dropped``: left out of the edition;
- ``restore``: brought back after a drop (from the copy when the rebuilt edition
  no longer has it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from digest.models import Edition, Section, Story
from digest.serialise import story_from_dict, story_to_dict
from digest.settings.config import EditionSettings

Edit = dict[str, Any]


def edit_for(story: Story, home: str, existing: Edit | None = None) -> Edit:
    """The edit object of ``story`` (now in section ``home``), starting from what the
    editor already changed."""
    edit = dict(existing or {})
    edit["articles"] = [link.article_id for link in story.articles]
    edit["home"] = home
    copy = story_to_dict(story)
    # The copy keeps the generated text; the editor's text is in the edit itself.
    for field in ("headline", "summary"):
        if field in edit and "story" in edit:
            copy[field] = edit["story"][field]
    edit["story"] = copy
    return edit


def match_stories(edition: Edition, edits: Mapping[str, Edit]) -> dict[str, str]:
    """Which story of ``edition`` each edit belongs to: {edit key: story id}.

    By id first; then by the most shared articles. Each story takes one edit.
    """
    stories = edition.stories
    by_id = {story.id for story in stories}
    matched: dict[str, str] = {key: key for key in edits if key in by_id}
    taken = set(matched.values())
    for key, edit in edits.items():
        if key in matched:
            continue
        wanted = set(edit.get("articles", ()))
        best, overlap = None, 0
        for story in stories:
            if story.id in taken:
                continue
            shared = len(wanted & {link.article_id for link in story.articles})
            if shared > overlap:
                best, overlap = story.id, shared
        if best is not None:
            matched[key] = best
            taken.add(best)
    return matched


def apply_edits(
    edition: Edition, edits: Mapping[str, Edit], section_order: Sequence[str] = ()
) -> tuple[Edition, dict[str, str]]:
    """The edition with the editors' changes; and {edit key: story id} for edits whose
    story now has another id (the caller re-keys them). Idempotent."""
    matched = match_stories(edition, edits)
    edit_of = {story_id: edits[key] for key, story_id in matched.items()}
    placed: dict[str, list[Story]] = {s.name: [] for s in edition.sections}
    descriptions = {s.name: s.description for s in edition.sections}
    moved: list[tuple[str, Story]] = []
    for section in edition.sections:
        for story in section.stories:
            edit = edit_of.get(story.id, {})
            if edit.get("dropped"):
                continue
            story = replace(
                story,
                headline=edit.get("headline") or story.headline,
                summary=edit.get("summary") or story.summary,
            )
            target = edit.get("section") or section.name
            if target == section.name:
                placed[target].append(story)
            else:
                moved.append((target, story))
    # A story moved to another section joins it at the end (until the editor moves it).
    for target, story in moved:
        placed.setdefault(target, []).append(story)
    # A pinned or restored story no longer in the edition comes back from its copy.
    for key, edit in edits.items():
        wanted = edit.get("pinned") or edit.get("restore")
        if key in matched or edit.get("dropped") or not wanted or "story" not in edit:
            continue
        story = story_from_dict(edit["story"])
        story = replace(
            story,
            headline=edit.get("headline") or story.headline,
            summary=edit.get("summary") or story.summary,
        )
        placed.setdefault(edit.get("section") or edit.get("home") or "", []).append(story)
        matched[key] = story.id
        edit_of[story.id] = edit
    placed.pop("", None)

    def order(story: Story) -> tuple[int, float]:
        edit = edit_of.get(story.id, {})
        position = edit.get("position")
        return (0 if edit.get("pinned") else 1, float("inf") if position is None else position)

    sections = []
    rank = {name: i for i, name in enumerate(section_order)}
    names = sorted(placed, key=lambda n: (rank.get(n, len(rank)), list(placed).index(n)))
    for name in names:
        # sorted() is stable: stories the editor did not place keep the built order.
        members = sorted(placed[name], key=order)
        if members:
            sections.append(Section(name, tuple(members), descriptions.get(name, "")))
    renamed = {key: story_id for key, story_id in matched.items() if key != story_id}
    return replace(edition, sections=tuple(sections)), renamed


def generated_text(edition: Edition, edits: Mapping[str, Edit]) -> Edition:
    """The edition with the generated headlines and summaries back in place of the
    editors' (from the edit copies), so that edits can be applied afresh."""
    copies = {key: edit["story"] for key, edit in edits.items() if "story" in edit}
    sections = []
    for section in edition.sections:
        stories = []
        for story in section.stories:
            copy = copies.get(story.id)
            if copy is not None:
                story = replace(story, headline=copy["headline"], summary=copy["summary"])
            stories.append(story)
        sections.append(replace(section, stories=tuple(stories)))
    return replace(edition, sections=tuple(sections))


def pinned_ids(edition: Edition, edits: Mapping[str, Edit]) -> set[str]:
    matched = match_stories(edition, edits)
    return {story_id for key, story_id in matched.items() if edits[key].get("pinned")}


def cap_edition(edition: Edition, config: EditionSettings, keep: Collection[str] = ()) -> Edition:
    """The best stories of the whole edition, at most ``max_per_section`` from one
    section and ``max_stories`` in all; stories in ``keep`` (pinned) always stay and
    count towards the caps. Chosen across the edition, so a section late in the
    configuration is not starved by earlier ones. Order within sections is kept."""
    kept: set[str] = set()
    per_section = {s.name: 0 for s in edition.sections}
    everything = [(story, s.name) for s in edition.sections for story in s.stories]
    for story, name in sorted(
        everything, key=lambda p: (p[0].id not in keep, -p[0].score, p[0].headline)
    ):
        if story.id in keep or (
            len(kept) < config.max_stories and per_section[name] < config.max_per_section
        ):
            kept.add(story.id)
            per_section[name] += 1
    sections = [
        replace(s, stories=tuple(st for st in s.stories if st.id in kept)) for s in edition.sections
    ]
    return replace(edition, sections=tuple(s for s in sections if s.stories))


def section_names(config: EditionSettings, edition: Edition) -> list[str]:
    """Where an editor may move a story: the configured sections, the edition's own
    (automatic groups among them), then "Other"."""
    names = [s.name for s in config.sections] + [s.name for s in edition.sections]
    return list(dict.fromkeys([*names, config.other_section]))
