"""Fetching every source at once: a bounded pool of threads, conditional GETs with
the validators of the last answer, and each outcome recorded for source health and
the run report.

Every item a source lists is accounted for (:class:`digest.models.ItemCounts`):
stored (a new article), known (stored already: by an earlier fetch, or as a copy
from another source) or skipped under a named reason (by the source, such as over
its limit, or by cleaning, such as no content). ``items = stored + known + skipped``
for every fetch, in the run summary and in ``digest sources status``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from digest.cleaning.articles import Cleaned
from digest.errors import SourceError
from digest.models import ItemCounts, RunReport, SourceReport
from digest.sources.fulltext import TEASER_KEPT
from digest.sources.source import ConditionalSource, Fetched, Source, Validators
from digest.store.articles import ArticleStore
from digest.store.health import FAILURE_STREAK_ALERT, FetchRecord, HealthLog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What fetching one source gave, when it started and how long it took."""

    source: Source
    result: Fetched | SourceError
    started: datetime
    ms: int


def known_links(
    articles: ArticleStore, sources: Sequence[Source], since: datetime
) -> Collection[str]:
    """The links of articles stored since ``since`` by any source, when a source
    fetches full text (their pages are not fetched again: the items are known)."""
    if not any(isinstance(s, ConditionalSource) and s.full_text for s in sources):
        return frozenset()
    found = articles.recent_urls([s.name for s in sources], since)
    return frozenset().union(*found.values())


def fetch_all(
    sources: Sequence[Source],
    previous: Mapping[str, Validators],
    known: Collection[str],
    *,
    workers: int,
    clock: Callable[[], datetime],
) -> Iterator[Outcome]:
    """Fetch every source concurrently; outcomes come back in configuration order.
    HTTP sources send their last answer's validators (a 304 costs nothing); full-text
    feeds skip the pages of ``known`` links."""

    def fetch(source: Source) -> Outcome:
        started, clock_start = clock(), time.perf_counter()
        result: Fetched | SourceError
        try:
            if isinstance(source, ConditionalSource):
                result = source.fetch_changes(previous.get(source.name), known)
            else:
                result = Fetched(source.fetch())
        except SourceError as exc:
            result = exc
        return Outcome(source, result, started, round((time.perf_counter() - clock_start) * 1000))

    workers = max(1, min(workers, len(sources)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        yield from pool.map(fetch, sources)


def record_failure(health: HealthLog, report: RunReport, outcome: Outcome) -> None:
    """A source that failed: in its health record and the report, flagged when it
    has failed several runs in a row."""
    assert isinstance(outcome.result, SourceError)
    name, reason = outcome.source.name, outcome.result.reason
    log.info("%s", outcome.result)
    streak = health.record(FetchRecord(name, outcome.started, outcome.ms, "failed", error=reason))
    report.sources.append(SourceReport(name, ok=False, error=reason, failure_streak=streak))
    if streak >= FAILURE_STREAK_ALERT:
        report.notes.append(f"source {name!r} has failed {streak} runs in a row: {reason}")


def record_not_modified(health: HealthLog, report: RunReport, outcome: Outcome) -> None:
    name = outcome.source.name
    health.record(FetchRecord(name, outcome.started, outcome.ms, "not_modified"))
    report.sources.append(SourceReport(name, ok=True, not_modified=True))


def record_success(
    health: HealthLog,
    report: RunReport,
    outcome: Outcome,
    cleaned: Cleaned,
    new: int,
    now: datetime,
) -> None:
    """A source whose articles are stored (``new`` of ``cleaned.articles``). Only now
    are its validators kept: a crash before this fetches the same answer again rather
    than taking a 304 for it."""
    assert isinstance(outcome.result, Fetched)
    fetched, source, name = outcome.result, outcome.source, outcome.source.name
    if isinstance(source, ConditionalSource):
        health.save_validators(name, fetched.validators, now)
    counts = item_counts(fetched, cleaned, new)
    health.record(FetchRecord.read(name, outcome.started, outcome.ms, counts))
    report.documents_skipped.extend(cleaned.skipped)
    # One line for all the teasers kept (there may be many), one for each other note.
    teasers = [n for n in fetched.notes if n.startswith(TEASER_KEPT)]
    if teasers:
        more = f" (and {len(teasers) - 1} more)" if len(teasers) > 1 else ""
        report.notes.append(f"source {name!r}: {teasers[0]}{more}")
    report.notes.extend(
        f"source {name!r}: {n}" for n in fetched.notes if not n.startswith(TEASER_KEPT)
    )
    if cleaned.headline_only:
        why = (
            "none in the feed or from their pages"
            if getattr(source, "full_text", False)
            else "full_text is off"
        )
        report.notes.append(
            f"source {name!r}: {cleaned.headline_only} of {counts.items} items have no text "
            f"and are kept headline-only ({why})"
        )
    report.sources.append(SourceReport(name, ok=True, counts=counts))


def item_counts(fetched: Fetched, cleaned: Cleaned, new: int) -> ItemCounts:
    """What became of the items of one fetch: ``new`` of the cleaned articles were
    stored, the rest were known; the source's and the cleaning's skips by reason."""
    reasons = Counter(fetched.skipped) + cleaned.reasons
    return ItemCounts(
        items=fetched.items,
        stored=new,
        known=len(cleaned.articles) - new,
        skipped=sum(reasons.values()),
        reasons=dict(reasons),
    )
