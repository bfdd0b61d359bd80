"""What an editor does to an edition, for the desk and the CLI alike: change a
story, approve, take the approval back, rebuild today's draft, send a test.

Every change is checked against the edition's state in the database: a sending or
sent edition never changes, and approving approves the version the editor saw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from digest import pipeline
from digest.components import Components
from digest.delivery.transport import Envelope, Recipient
from digest.editorial.edits import Edit, apply_edits, edit_for, generated_text, section_names
from digest.links import preferences_url, unsubscribe_url
from digest.models import Edition, RunReport, Section, Subscriber, local_period
from digest.rendering.renderer import xml_safe
from digest.sections.assign import fallback_section
from digest.store.editions import StoredEdition

EDITABLE = ("draft", "approved")
MAX_HEADLINE = 300
MAX_SUMMARY = 2000


class Outcome(StrEnum):
    DONE = "done"
    IMPOSSIBLE = "impossible"  # the change makes no sense (nothing to restore, no such story)
    CONFLICT = "conflict"  # the edition is not (or no longer) in a state that allows it


@dataclass(frozen=True, slots=True)
class StoryChange:
    """One form about one story: ``action`` is up, down, pin, unpin, drop, restore,
    move (to ``section``) or text (``headline`` and ``summary``; empty: generated)."""

    action: str
    section: str = ""
    headline: str = ""
    summary: str = ""


def change_story(
    c: Components, stored: StoredEdition, key: str, change: StoryChange, editor: str
) -> Outcome:
    """Apply one change to story ``key`` of a draft or approved edition and keep it;
    an approved edition goes back to draft."""
    if stored.status not in EDITABLE:
        return Outcome.CONFLICT
    config = c.settings.edition_or_default(stored.edition.name)
    edits = c.store.edits.all(stored.id)
    names = section_names(
        config, stored.edition, fallback_section(config, c.messages(config.language))
    )
    changes = story_changes(stored.edition, edits, key, change, names)
    if changes is None:
        return Outcome.IMPOSSIBLE
    merged = {**edits, **changes}
    base = generated_text(stored.edition, edits)
    changed, _ = apply_edits(base, merged, names)
    # The edition may have started sending since it was read: then nothing changes.
    if (
        not c.store.editions.reopen(stored.id)
        or c.store.editions.save_draft(changed).status != "draft"
    ):
        return Outcome.CONFLICT
    c.store.edits.save(stored.id, changes, editor, c.clock())
    return Outcome.DONE


def approve(c: Components, stored: StoredEdition, editor: str, version: str) -> bool:
    """Draft -> approved, only the ``version`` (``edition_version``) the editor saw."""
    return c.store.editions.approve(stored.id, editor, c.clock(), version)


def reopen(c: Components, stored: StoredEdition) -> bool:
    """Approved -> draft: the approval taken back."""
    return stored.status == "approved" and c.store.editions.reopen(stored.id)


def is_rebuildable(c: Components, stored: StoredEdition) -> bool:
    """A draft of the edition's current period can be rebuilt from the latest articles."""
    config = c.settings.edition_or_default(stored.edition.name)
    today = local_period(c.clock(), config.schedule.timezone)
    return stored.status == "draft" and stored.edition.period == today


def rebuild(c: Components, stored: StoredEdition) -> bool:
    """Rebuild today's draft (the editors' changes are applied again)."""
    if not is_rebuildable(c, stored):
        return False
    pipeline.build(c, stored.edition.name, RunReport())
    return True


def send_test(c: Components, edition: Edition, address: str, sections: tuple[Section, ...]) -> None:
    """The edition as a group of subscribers gets it (``sections``), to one address,
    outside the ledger, with "[Test]" in the subject."""
    config = c.settings.edition_or_default(edition.name)
    rendered = c.renderer.render(edition, sections, preheader=config.preheader, theme=config.theme)
    rendered = replace(
        rendered, subject=f"[Test] {rendered.subject}", edition_key=f"{edition.key}-test"
    )
    key, base = c.signing_key(), c.settings.web.base_url
    recipient = Recipient(
        delivery_id=0,
        subscriber=Subscriber(email=address),
        unsubscribe_url=unsubscribe_url(base, key, address),
        preferences_url=preferences_url(base, key, address),
    )
    c.transport.send(Envelope(rendered, (recipient,)))


def story_changes(
    edition: Edition,
    edits: dict[str, Edit],
    key: str,
    change: StoryChange,
    names: list[str],
) -> dict[str, Edit] | None:
    """The edits one change makes (``names``: where a story may move), or None when
    the change makes no sense."""
    if change.action == "restore":
        edit = edits.get(key)
        if edit is None or not edit.dropped:
            return None
        return {key: replace(edit, dropped=False, restore=True)}
    stories = {story.id: story for story in edition.stories}
    home = next((s.name for s in edition.sections for st in s.stories if st.id == key), None)
    story = stories.get(key)
    if story is None or home is None:
        return None
    edit = edit_for(story, home, edits.get(key))
    if change.action in ("up", "down"):
        return _reorder(edition, edits, key, home, change.action == "up", edit)
    changed = _changed(edit, change, home, names)
    return {key: changed} if changed is not None else None


def _reorder(
    edition: Edition, edits: dict[str, Edit], key: str, home: str, up: bool, edit: Edit
) -> dict[str, Edit] | None:
    """Swap a story with its neighbour; every story of the section keeps its place."""
    section = next(s for s in edition.sections if s.name == home)
    stories = {st.id: st for st in section.stories}
    order = list(stories)
    i = order.index(key)
    j = i - 1 if up else i + 1
    if not 0 <= j < len(order):
        return None
    order[i], order[j] = order[j], order[i]
    changes = {}
    for position, story_id in enumerate(order):
        other = edit if story_id == key else edit_for(stories[story_id], home, edits.get(story_id))
        changes[story_id] = replace(other, position=position)
    return changes


def _changed(edit: Edit, change: StoryChange, home: str, sections: list[str]) -> Edit | None:
    action = change.action
    if action == "pin":
        return replace(edit, pinned=True)
    if action == "unpin":
        return replace(edit, pinned=False)
    if action == "drop":
        return replace(edit, dropped=True, section=edit.section or home, pinned=False)
    if action == "move":
        if change.section not in sections or change.section == home:
            return None
        return replace(edit, section=change.section, position=None)
    if action == "text":
        assert edit.story is not None  # edit_for keeps the generated copy
        headline = _editor_text(change.headline, MAX_HEADLINE, edit.story.headline)
        summary = _editor_text(change.summary, MAX_SUMMARY, edit.story.summary)
        return replace(edit, headline=headline, summary=summary)
    return None


def _editor_text(value: str, limit: int, generated: str) -> str | None:
    """The editor's text, one line and capped; None when empty or the generated one."""
    text = " ".join(xml_safe(value).split())[:limit]
    return text if text and text != generated else None
