"""Fetching every source at once: a bounded pool of threads, conditional GETs with
the validators of the last answer, and each outcome recorded for source health and
the run report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from digest.errors import SourceError
from digest.models import RunReport, SourceReport
from digest.sources.source import ConditionalSource, Fetched, Source, Validators
from digest.store.health import FAILURE_STREAK_ALERT, FetchRecord, HealthLog

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What fetching one source gave, when it started and how long it took."""

    source: Source
    result: Fetched | SourceError
    started: datetime
    ms: int


def fetch_all(
    sources: Sequence[Source],
    previous: Mapping[str, Validators],
    known: Mapping[str, set[str]],
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
                result = source.fetch_changes(
                    previous.get(source.name), known.get(source.name, frozenset())
                )
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
    health: HealthLog, report: RunReport, outcome: Outcome, new: int, now: datetime
) -> None:
    """A source whose articles are stored. Only now are its validators kept: a crash
    before this fetches the same answer again rather than taking a 304 for it."""
    assert isinstance(outcome.result, Fetched)
    fetched, name = outcome.result, outcome.source.name
    if isinstance(outcome.source, ConditionalSource):
        health.save_validators(name, fetched.validators, now)
    seen = len(fetched.documents)
    health.record(
        FetchRecord(name, outcome.started, outcome.ms, "ok", new_items=new, seen_items=seen)
    )
    if fetched.notes:
        more = f" (and {len(fetched.notes) - 1} more)" if len(fetched.notes) > 1 else ""
        report.notes.append(f"source {name!r}: {fetched.notes[0]}{more}")
    report.sources.append(SourceReport(name, ok=True, fetched=seen, new=new))
