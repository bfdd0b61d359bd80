"""The summary of one story: extractive, from an update's new sentences when it is
one, and written by the LLM endpoint when configured (the extractive one stays as
its fallback)."""

from __future__ import annotations

from digest.settings.services import DEFAULT_SUMMARIES, SummariesSettings
from digest.stories.headlines import headline_article
from digest.stories.updates import FollowUp
from digest.summarise.extractive import summarise
from digest.summarise.llm import LLMSummariser


def story_summary(
    outcome: FollowUp,
    words: int,
    tuning: SummariesSettings = DEFAULT_SUMMARIES,
    llm: LLMSummariser | None = None,
) -> str:
    """At most ``words`` words about what the story's tellings say; an update tells
    what is new."""
    language = outcome.language
    told = outcome.reporting or outcome.articles
    first = headline_article(told, language)
    # The headline's article goes first: the summary opens with the report it heads.
    told = [told[first], *told[:first], *told[first + 1 :]]
    summary = summarise(told, words, tuning.redundancy, tuning.lead_weight, language)
    if not summary and outcome.reporting:  # its new sentences were all fragments
        summary = summarise(
            outcome.articles, words, tuning.redundancy, tuning.lead_weight, language
        )
    # Headline-only tellings (no text) give no summary; the LLM is not asked to invent one.
    if llm is not None and any(a.text.strip() for a in told):
        summary = llm.summarise(told, words, fallback=summary, language=language)
    return summary
