"""Who reported a story, as the email and the web version name them: the lead's
outlet, then each other outlet once (the one with more tellings first, then in the
story's order), capped in the email with "and N more"; the web version lists all.
A telling whose outlet is not known (a saved file that names none) is not credited,
and the first telling with a known outlet leads."""

from __future__ import annotations

from dataclasses import dataclass

from digest.models import Story, StoryLink

OUTLETS_SHOWN = 5  # other outlets named in an email; the rest are "and N more"


@dataclass(frozen=True, slots=True)
class Attribution:
    lead: StoryLink | None
    others: tuple[StoryLink, ...]  # one link per outlet, the lead's outlet not again
    more: int  # outlets left out of ``others``


def attribution(story: Story, cap: int | None = OUTLETS_SHOWN) -> Attribution:
    """``story``'s outlets, each once; ``cap`` None lists every one."""
    known = [link for link in story.articles if link.source]
    if not known:
        return Attribution(None, (), 0)
    lead = known[0]
    first: dict[str, StoryLink] = {}
    tellings: dict[str, int] = {}
    for link in known[1:]:
        if link.source == lead.source:
            continue
        first.setdefault(link.source, link)
        tellings[link.source] = tellings.get(link.source, 0) + 1
    order = sorted(first, key=lambda outlet: -tellings[outlet])  # stable: story order
    others = tuple(first[outlet] for outlet in order)
    shown = others if cap is None else others[:cap]
    return Attribution(lead, shown, len(others) - len(shown))
