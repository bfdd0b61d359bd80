"""Editors' changes to an edition: rewrite a headline or summary, move a story to
another section, reorder, pin, drop. No I/O.

Changes are kept per story as an :class:`Edit` (stored as a small JSON object by
``store.desk.EditionEdits``) and applied to an edition by :func:`apply_edits`, both
when the editor makes them and after every rebuild, so a rebuilt draft keeps them. A
story is found again after a rebuild by its id or, when a late article changed its
lead, by the articles it shares with the story the editor changed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from digest.models import Edition, Section, Story
from digest.serialise import story_from_dict, story_to_dict
from digest.settings.editions import EditionSettings


@dataclass(frozen=True, slots=True)
class Edit:
    """What editors changed of one story."""

    articles: tuple[str, ...] = ()  # the story's article ids when edited (to find it again)
    story: Story | None = None  # a copy of the story with the generated text, to bring it back
    home: str | None = None  # the section it was in
    headline: str | None = None  # the editor's text
    summary: str | None = None
    section: str | None = None  # the section it was moved to
    position: int | None = None  # its place once the editor reordered its section
    pinned: bool = False  # at the top of its section, never cut by the caps
    dropped: bool = False  # left out of the edition
    restore: bool = False  # brought back after a drop (from the copy if need be)

    def to_json(self) -> dict[str, Any]:
        """The stored object: only the fields that are set."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value is False or value == ():
                continue
            if f.name == "story":
                value = story_to_dict(value)
            elif f.name == "articles":
                value = list(value)
            data[f.name] = value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Edit:
        story = data.get("story")
        return cls(
            articles=tuple(data.get("articles", ())),
            story=story_from_dict(story) if story is not None else None,
            home=data.get("home"),
            headline=data.get("headline"),
            summary=data.get("summary"),
            section=data.get("section"),
            position=data.get("position"),
            pinned=bool(data.get("pinned")),
            dropped=bool(data.get("dropped")),
            restore=bool(data.get("restore")),
        )


def edit_for(story: Story, home: str, existing: Edit | None = None) -> Edit:
    """The edit of ``story`` (now in section ``home``), starting from what the editor
    already changed."""
    edit = existing or Edit()
    copy = story
    if edit.story is not None:
        # The copy keeps the generated text; the editor's text is in the edit itself.
        if edit.headline is not None:
            copy = replace(copy, headline=edit.story.headline)
        if edit.summary is not None:
            copy = replace(copy, summary=edit.story.summary)
    articles = tuple(link.article_id for link in story.articles)
    return replace(edit, articles=articles, home=home, story=copy)


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
        wanted = set(edit.articles)
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
            edit = edit_of.get(story.id, NO_EDIT)
            if edit.dropped:
                continue
            story = _with_text(story, edit)
            target = edit.section or section.name
            if target == section.name:
                placed[target].append(story)
            else:
                moved.append((target, story))
    # A story moved to another section joins it at the end (until the editor moves it).
    for target, story in moved:
        placed.setdefault(target, []).append(story)
    # A pinned or restored story no longer in the edition comes back from its copy.
    for key, edit in edits.items():
        wanted = edit.pinned or edit.restore
        if key in matched or edit.dropped or not wanted or edit.story is None:
            continue
        story = _with_text(edit.story, edit)
        placed.setdefault(edit.section or edit.home or "", []).append(story)
        matched[key] = story.id
        edit_of[story.id] = edit
    placed.pop("", None)

    def order(story: Story) -> tuple[int, float]:
        edit = edit_of.get(story.id, NO_EDIT)
        position = edit.position
        return (0 if edit.pinned else 1, float("inf") if position is None else position)

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
    copies = {key: edit.story for key, edit in edits.items() if edit.story is not None}
    sections = []
    for section in edition.sections:
        stories = []
        for story in section.stories:
            copy = copies.get(story.id)
            if copy is not None:
                story = replace(story, headline=copy.headline, summary=copy.summary)
            stories.append(story)
        sections.append(replace(section, stories=tuple(stories)))
    return replace(edition, sections=tuple(sections))


def pinned_ids(edition: Edition, edits: Mapping[str, Edit]) -> set[str]:
    matched = match_stories(edition, edits)
    return {story_id for key, story_id in matched.items() if edits[key].pinned}


NO_EDIT = Edit()


def _with_text(story: Story, edit: Edit) -> Story:
    """The story with the editor's headline and summary, where they wrote one."""
    return replace(
        story, headline=edit.headline or story.headline, summary=edit.summary or story.summary
    )


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


def section_names(config: EditionSettings, edition: Edition, fallback: str) -> list[str]:
    """Where an editor may move a story: the configured sections, the edition's own
    (automatic groups among them), then the fallback ("Other", in the edition's
    language: ``digest.sections.assign.fallback_section``)."""
    names = [s.name for s in config.sections] + [s.name for s in edition.sections]
    return list(dict.fromkeys([*names, fallback]))


def reapply(
    edition: Edition, edits: Mapping[str, Edit], config: EditionSettings, fallback: str
) -> tuple[Edition, dict[str, str]]:
    """A rebuilt edition with the editors' changes applied again and capped, pinned
    stories kept; and the edits whose story now has another id (to re-key)."""
    edition, renamed = apply_edits(edition, edits, section_names(config, edition, fallback))
    return cap_edition(edition, config, pinned_ids(edition, edits)), renamed
