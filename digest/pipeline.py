"""The pipeline: collect -> clean -> store -> stories -> summaries -> sections ->
render -> deliver. The only module that knows the order of the stages; each stage's
body lives in its package."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from digest.cleaning.articles import clean_all
from digest.components import Components
from digest.delivery.requests import DeliveryReport
from digest.delivery.send import claim_for_sending, deliver_edition, ready_to_send
from digest.editorial.edits import cap_edition, reapply
from digest.errors import DigestError, EditionBusy, SourceError
from digest.language.catalogues import messages
from digest.language.tags import ENGLISH, primary
from digest.models import Article, Edition, RunReport, SentStory, local_period
from digest.rendering.groups import render_groups
from digest.rendering.outputs import write_preview, write_web_version
from digest.sections.assign import arrange, fallback_section
from digest.settings.editions import EditionSettings
from digest.settings.services import (
    DEFAULT_STORIES,
    DEFAULT_SUMMARIES,
    StoriesSettings,
    SummariesSettings,
)
from digest.sources.collection import (
    fetch_all,
    known_links,
    record_failure,
    record_not_modified,
    record_success,
)
from digest.store.editions import StoredEdition
from digest.store.leases import Heartbeat, edition_lease_name
from digest.store.runs import run_summary
from digest.stories.story import make_story
from digest.stories.updates import regroup
from digest.summarise.llm import LLMSummariser
from digest.summarise.story import story_summary

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Where long steps report how far they are (a progress bar in the CLI)."""

    def task(self, label: str, total: int) -> Callable[[int], None]:
        """Start a task; the returned function advances it by a number of items."""
        ...


class NoProgress:
    def task(self, label: str, total: int) -> Callable[[int], None]:
        return lambda n: None


NO_PROGRESS = NoProgress()

# A full-text source does not fetch the pages of links stored (by any source) this recently.
KNOWN_LINKS_WINDOW = timedelta(days=30)


def collect(c: Components, report: RunReport, progress: Progress = NO_PROGRESS) -> int:
    """Fetch every source, clean each document, store new articles. One failing
    source or document is recorded and skipped; the others go on. Returns how many
    articles were new."""
    step = progress.task("Collecting", len(c.sources))
    known = known_links(c.store.articles, c.sources, c.clock() - KNOWN_LINKS_WINDOW)
    workers = c.settings.fetching.max_concurrency
    fetched = fetch_all(
        c.sources, c.store.health.validators(), known, workers=workers, clock=c.clock
    )
    total_new = 0
    # Cleaning and storing stay on this thread, in configuration order.
    for outcome in fetched:
        step(1)
        if isinstance(outcome.result, SourceError):
            record_failure(c.store.health, report, outcome)
        elif outcome.result.not_modified:
            record_not_modified(c.store.health, report, outcome)
        else:
            cleaned = clean_all(outcome.result.documents, outcome.source.name)
            new = c.store.articles.add(cleaned.articles, c.clock())
            record_success(c.store.health, report, outcome, cleaned, new, c.clock())
            total_new += new
    return total_new


def build_edition(
    articles: Sequence[Article],
    config: EditionSettings,
    now: datetime,
    *,
    capped: bool = True,
    llm: LLMSummariser | None = None,
    weights: Mapping[str, float] | None = None,
    sent: Sequence[SentStory] = (),
    period: str | None = None,
    stories: StoriesSettings = DEFAULT_STORIES,
    summaries: SummariesSettings = DEFAULT_SUMMARIES,
    locales: Path | None = None,
) -> Edition:
    """Stories, summaries and sections from ``articles``; no I/O but the optional LLM.

    ``period`` (the local date, in the subject too) defaults to ``now``'s date in the
    edition's time zone; a local-time delivery group passes its own.

    ``capped=False`` keeps every story and section (``digest build --all``).
    ``weights`` (source name -> weight, 1 when absent) scale the ranking of a source's
    stories. ``sent`` are stories earlier editions carried: the new articles are
    grouped with theirs, and a story already sent comes back only as an update with
    substantial new reporting (``digest.stories.updates``). ``stories`` and
    ``summaries`` carry the tuned settings of grouping and extractive summaries.
    Articles without a language are read in the edition's; ``locales`` is the
    deployment's catalogues folder (the subject's long date, the fallback section).
    """
    now_ts, words = now.timestamp(), messages(config.language, locales)
    span, language = timedelta(hours=config.lookback_hours), primary(config.language) or ENGLISH
    built = [
        # The whole group goes along: more evidence of its section.
        (
            make_story(
                outcome,
                story_summary(outcome, config.summary_words, summaries, llm),
                now_ts,
                weights,
            ),
            group,
        )
        for group, outcome in regroup(articles, sent, stories, span, language)
    ]
    period = period or local_period(now, config.schedule.timezone)
    dates = {"date": period, "long_date": words.long_date(period)}
    edition = Edition(
        name=config.name,
        title=config.title,
        subject=config.subject.format(title=config.title, name=config.name, **dates),
        period=period,
        built_at=now,
        sections=arrange(built, config, words),
        timezone=config.schedule.timezone,
        language=config.language,
    )
    return cap_edition(edition, config) if capped else edition


def build(
    c: Components, edition_name: str | None, report: RunReport, *, timezone: str | None = None
) -> StoredEdition:
    """Build (or rebuild, while still a draft) this period's edition from the store.

    The period is the local date in the edition's time zone, or in ``timezone`` for
    a local-time delivery group: one edition per date, built by the first group.
    Editors' changes to the draft survive the rebuild; pinned stories the caps.
    """
    config = c.settings.edition(edition_name)
    now = c.clock()
    period = local_period(now, timezone or config.schedule.timezone)
    existing = c.store.editions.get(config.name, period)
    if existing is not None and existing.status != "draft":
        report.notes.append(
            f"edition {existing.edition.key} is already {existing.status}; not rebuilt"
        )
        _describe(report, existing)
        return existing
    lookback = timedelta(hours=config.lookback_hours)
    articles = [
        a
        for a in c.store.articles.for_edition(config.name, now - lookback)
        if config.draws_on(a.source)
    ]
    # What went out before: an article in the window may have come just after an
    # edition that is itself outside it, so look back twice as far.
    sent = c.store.articles.sent_stories(config.name, now - 2 * lookback)
    llm = c.llm_summariser()
    weights = c.settings.source_weights
    edition = build_edition(
        articles,
        config,
        now,
        llm=llm,
        capped=False,
        weights=weights,
        sent=sent,
        period=period,
        stories=c.settings.stories,
        summaries=c.settings.summaries,
        locales=c.settings.locales_dir,
    )
    edits = c.store.edits.all(existing.id) if existing is not None else {}
    other = fallback_section(config, c.messages(config.language))
    edition, renamed = reapply(edition, edits, config, other)
    stored = c.store.editions.save_draft(edition)
    if renamed:
        c.store.edits.rekey(stored.id, renamed)
    if llm is not None:
        report.notes.extend(llm.problems)
    report.articles = len(articles)
    _describe(report, stored)
    return stored


def sync_listed(c: Components) -> None:
    """The configured subscriber list into the database; an erased address is left
    out (only a confirmed sign-up brings it back)."""
    listed = c.subscribers()
    erased = c.store.erasures.erased([p.email.lower() for p in listed], c.signing_key())
    c.store.subscribers.upsert([p for p in listed if p.email.lower() not in erased], c.clock())


def send(
    c: Components,
    stored: StoredEdition,
    report: RunReport,
    progress: Progress = NO_PROGRESS,
    *,
    due: datetime | None = None,
    retry_ambiguous: bool = False,
    timezone: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    deadline: datetime | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryReport | None:
    """Deliver the edition to every subscriber the ledger says has not had it.

    The configured subscriber list is synced into the database first (a bad list
    stops here), and every combination of sections is rendered before the first
    message leaves, so a template error sends nothing.
    """
    edition = stored.edition
    config = c.settings.edition_or_default(edition.name)
    _describe(report, stored)
    if c.settings.delivery.transport == "outbox":
        report.outbox = str(c.settings.delivery.outbox_dir)
    if not ready_to_send(stored, config, report):
        return None
    sync_listed(c)
    choices = c.store.subscribers.topic_choices()
    rendered = render_groups(c.renderer, edition, config, choices, report.notes)
    if not claim_for_sending(c, stored, report):
        return None
    step = progress.task("Delivering", c.store.subscribers.count())

    def advance(n: int) -> None:
        step(n)
        if on_batch is not None:
            on_batch(n)

    return deliver_edition(
        c,
        stored,
        rendered,
        report,
        advance,
        due=due,
        retry_ambiguous=retry_ambiguous,
        timezone=timezone,
        deadline=deadline,
        should_stop=should_stop,
    )


def run(
    c: Components,
    edition_name: str | None,
    progress: Progress = NO_PROGRESS,
    *,
    timezone: str | None = None,
    due: datetime | None = None,
    collect_first: bool = True,
) -> RunReport:
    """One whole cycle: collect, build this period's edition, preview, deliver.

    Only one process sends an edition at a time (its lease); the run is recorded in
    the run history, as skipped when another live process holds the edition.
    ``timezone`` limits delivery to the subscribers of one time zone (local-time
    delivery); ``due`` is when the edition is due. Catch-up resumes an unfinished
    edition with ``collect_first=False``: build it if it is missing, send the rest.
    """
    config = c.settings.edition(edition_name)
    report = RunReport()
    kind = "run" if collect_first else "catch-up"
    with _recorded(c, kind, config.name, timezone, report), edition_lease(c, config.name) as lease:
        if collect_first:
            collect(c, report, progress)
        stored = build(c, config.name, report, timezone=timezone)
        report.preview = str(write_preview(c.renderer, c.settings, stored.edition))
        report.web_version = str(write_web_version(c.renderer, c.settings, stored.edition))
        deadline = config.deadline(stored.edition.period, timezone, due)
        send(
            c,
            stored,
            report,
            progress,
            due=due,
            timezone=timezone,
            deadline=deadline,
            should_stop=lambda: not lease.held(),
        )
    return report


def send_stored(
    c: Components,
    stored: StoredEdition,
    report: RunReport,
    progress: Progress = NO_PROGRESS,
    *,
    due: datetime | None = None,
    retry_ambiguous: bool = False,
) -> None:
    """``digest send``: deliver a stored edition under its lease, recorded as a run;
    raises :class:`EditionBusy` when another live process holds it."""
    name = stored.edition.name
    with _recorded(c, "send", name, None, report, busy="raise"), edition_lease(c, name) as lease:
        fresh = c.store.editions.by_id(stored.id) or stored  # as it is now, under the lease
        send(
            c,
            fresh,
            report,
            progress,
            due=due,
            retry_ambiguous=retry_ambiguous,
            should_stop=lambda: not lease.held(),
        )


@contextmanager
def edition_lease(c: Components, name: str) -> Iterator[Heartbeat]:
    """Hold the edition's lease (renewed while inside) or raise :class:`EditionBusy`.
    It lives ``edition_lease_seconds`` unless renewed, so a dead holder is noticed
    within that time (at once on its host)."""
    ttl = timedelta(seconds=c.settings.scheduler.edition_lease_seconds)
    lease = Heartbeat(c.store.leases, edition_lease_name(name), c.holder, ttl, c.wall_clock)
    if not lease.start():
        current = c.store.leases.current(lease.name, c.wall_clock())
        raise EditionBusy(
            name, current.holder if current else None, current.expires_at if current else None
        )
    try:
        yield lease
    finally:
        lease.stop()


@contextmanager
def _recorded(
    c: Components,
    kind: str,
    name: str,
    timezone: str | None,
    report: RunReport,
    *,
    busy: str = "skip",
) -> Iterator[None]:
    """The run in the run history: skipped (another process has the edition), failed
    (an error, re-raised), held, expired, ok or partial."""
    run_id = c.store.runs.start(kind, name, None, c.clock(), timezone, holder=c.holder)
    try:
        yield
    except EditionBusy as exc:
        report.skipped = True
        report.notes.append(str(exc))
        c.store.runs.finish(run_id, "skipped", c.clock(), error=str(exc))
        if busy == "raise":
            raise
        return
    except Exception as exc:  # recorded, never left "running" by a live process
        error = str(exc) if isinstance(exc, DigestError) else f"{type(exc).__name__}: {exc}"
        c.store.runs.finish(run_id, "failed", c.clock(), error=error, summary=run_summary(report))
        raise
    status = (
        "held"
        if report.held
        else "expired"
        if report.expired
        else "ok"
        if report.failed_deliveries == 0
        else "partial"
    )
    period = report.edition.partition("/")[2] if report.edition else None
    c.store.runs.finish(run_id, status, c.clock(), summary=run_summary(report), period=period)


def _describe(report: RunReport, stored: StoredEdition) -> None:
    """Which edition the report is about, for its summary table."""
    report.edition = stored.edition.key
    report.stories = len(stored.edition.stories)
    report.sections = len(stored.edition.sections)
