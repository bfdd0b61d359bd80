"""Section groups: subscribers who chose sections get an edition of those only. Each
distinct combination is rendered once, before the first message leaves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from digest.models import Edition, Section
from digest.rendering.personal import RenderedEdition
from digest.rendering.renderer import Renderer
from digest.settings.editions import EditionSettings


def sections_for(edition: Edition, topics: Sequence[str]) -> tuple[Section, ...]:
    """The sections a subscriber chose; all of them when the choice matches none."""
    wanted = {t.lower() for t in topics}
    chosen = tuple(s for s in edition.sections if s.name.lower() in wanted)
    return chosen or edition.sections


def section_groups(edition: Edition, choices: Iterable[Sequence[str]]) -> list[tuple[Section, ...]]:
    """The distinct section combinations the subscribers' ``choices`` of topics give
    (:func:`sections_for` each), in the order first met: one rendering each."""
    groups: list[tuple[Section, ...]] = []
    for topics in choices:
        chosen = sections_for(edition, topics)
        if chosen not in groups:
            groups.append(chosen)
    return groups


def render_groups(
    renderer: Renderer,
    edition: Edition,
    config: EditionSettings,
    choices: Iterable[Sequence[str]],
    notes: list[str],
) -> dict[tuple[str, ...], RenderedEdition]:
    """Every combination of sections the subscribers' ``choices`` give, rendered,
    keyed by section names (cheap to hash once per subscriber). A template error
    raises here, before anything is sent; stories moved to the web version to stay
    under Gmail's clip are noted."""
    rendered: dict[tuple[str, ...], RenderedEdition] = {}
    for group in section_groups(edition, choices):
        names = tuple(s.name for s in group)
        rendered[names] = renderer.render(
            edition, group, preheader=config.preheader, theme=config.theme
        )
        if rendered[names].dropped:
            notes.append(
                f"{rendered[names].dropped} lowest-ranked stories moved to the web version "
                f"to keep the email under Gmail's 102 KB clip ({', '.join(names)})"
            )
    return rendered
