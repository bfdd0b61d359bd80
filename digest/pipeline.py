"""The pipeline: collect -> clean -> store -> stories -> summaries -> sections ->
render -> deliver. The only module that knows the order of the stages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from digest.cleaning.articles import clean
from digest.components import Components
from digest.delivery.deliverer import Deliverer, DeliveryReport
from digest.editorial.edits import apply_edits, cap_edition, pinned_ids, section_names
from digest.errors import DigestError, ExtractionError, SourceError
from digest.models import (
    Article,
    DeliveryState,
    Edition,
    RenderedMessage,
    RunReport,
    Section,
    SentStory,
    SourceReport,
    Story,
    StoryLink,
    Subscriber,
)
from digest.rendering.personal import RenderedEdition
from digest.rendering.renderer import section_groups, sections_for
from digest.sections.assign import assign_sections
from digest.settings.config import EditionSettings, SectionSettings
from digest.sources.source import ConditionalSource, Fetched, Source
from digest.store.database import StoredEdition
from digest.store.health import FAILURE_STREAK_ALERT, FetchRecord
from digest.stories import grouping as stories_stage
from digest.stories.headlines import choose_headline
from digest.stories.updates import follow_up
from digest.summarise.extractive import summarise
from digest.summarise.llm import LLMSummariser
from digest.tokens import sign

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


def local_period(now: datetime, timezone: str) -> str:
    """The edition period (the local date) that ``now`` falls in."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


# -- collect ------------------------------------------------------------------------


# A full-text source does not fetch again the pages of links stored this recently.
KNOWN_LINKS_WINDOW = timedelta(days=30)


def collect(c: Components, report: RunReport, progress: Progress = NO_PROGRESS) -> int:
    """Fetch every source (concurrently, on a bounded pool), clean each document,
    store new articles. One failing source or document is recorded and skipped;
    the others go on. HTTP sources send their last answer's validators (a 304 costs
    nothing), and every fetch is recorded for source health."""
    step = progress.task("Collecting", len(c.sources))
    previous = c.store.health.validators()
    wants_known = [s.name for s in c.sources if isinstance(s, ConditionalSource) and s.full_text]
    known = c.store.recent_urls(wants_known, c.clock() - KNOWN_LINKS_WINDOW)

    def fetch(source: Source) -> tuple[Fetched | SourceError, datetime, int]:
        started, clock = c.clock(), time.perf_counter()
        outcome: Fetched | SourceError
        try:
            if isinstance(source, ConditionalSource):
                outcome = source.fetch_changes(
                    previous.get(source.name), known.get(source.name, frozenset())
                )
            else:
                outcome = Fetched(source.fetch())
        except SourceError as exc:
            outcome = exc
        return outcome, started, round((time.perf_counter() - clock) * 1000)

    total_new = 0
    health = c.store.health
    workers = max(1, min(c.settings.fetching.max_concurrency, len(c.sources)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        # Cleaning and storing stay on this thread, in configuration order.
        for source, (outcome, started, ms) in zip(
            c.sources, pool.map(fetch, c.sources), strict=True
        ):
            step(1)
            name = source.name
            if isinstance(outcome, SourceError):
                log.info("%s", outcome)
                streak = health.record(
                    FetchRecord(name, started, ms, "failed", error=outcome.reason)
                )
                report.sources.append(
                    SourceReport(name, ok=False, error=outcome.reason, failure_streak=streak)
                )
                if streak >= FAILURE_STREAK_ALERT:
                    report.notes.append(
                        f"source {name!r} has failed {streak} runs in a row: {outcome.reason}"
                    )
                continue
            if outcome.not_modified:
                health.record(FetchRecord(name, started, ms, "not_modified"))
                report.sources.append(SourceReport(name, ok=True, not_modified=True))
                continue
            articles: list[Article] = []
            for document in outcome.documents:
                try:
                    articles.append(clean(document))
                except ExtractionError as exc:
                    report.documents_skipped.append(f"{name}: {exc}")
            new = c.store.add_articles(articles, c.clock())
            total_new += new
            if isinstance(source, ConditionalSource):
                # Only now that the articles are stored: a crash before this line
                # fetches the same answer again rather than taking a 304 for it.
                health.save_validators(name, outcome.validators, c.clock())
            seen = len(outcome.documents)
            health.record(FetchRecord(name, started, ms, "ok", new_items=new, seen_items=seen))
            if outcome.notes:
                more = f" (and {len(outcome.notes) - 1} more)" if len(outcome.notes) > 1 else ""
                report.notes.append(f"source {name!r}: {outcome.notes[0]}{more}")
            report.sources.append(SourceReport(name, ok=True, fetched=seen, new=new))
    return total_new


# -- build --------------------------------------------------------------------------


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
) -> Edition:
    """Stories, summaries and sections from ``articles``; no I/O but the optional LLM.

    ``period`` (the local date, in the subject too) defaults to ``now``'s date in the
    edition's time zone; a local-time delivery group passes its own.

    ``capped=False`` keeps every story and section (``digest build --all``).
    ``weights`` (source name -> weight, 1 when absent) scale the ranking of a source's
    stories. ``sent`` are stories earlier editions carried: the new articles are
    grouped with theirs, and a story already sent comes back only as an update with
    substantial new reporting (``digest.updates``).
    """
    earlier = {a.id: story.ref for story in sent for a in story.articles}
    context = list({a.id: a for story in sent for a in story.articles}.values())
    groups = stories_stage.group_articles([a for a in articles if a.id not in earlier] + context)
    now_ts = now.timestamp()
    built: list[tuple[Story, list[Article]]] = []
    for group in groups:
        outcome = follow_up(group, earlier)
        tellings = outcome.articles
        if not tellings:
            continue
        told = outcome.reporting or tellings  # an update tells what is new
        summary = summarise(told, config.summary_words)
        if not summary and outcome.reporting:  # its new sentences were all fragments
            summary = summarise(tellings, config.summary_words)
        if llm is not None:
            summary = llm.summarise(told, config.summary_words, fallback=summary)
        ranking = stories_stage.story_ranking(tellings, now_ts, weights)
        story = Story(
            id=stories_stage.story_id(tellings),
            headline=choose_headline(tellings),
            summary=summary,
            articles=tuple(StoryLink(a.id, a.source, a.title, a.url) for a in tellings),
            score=ranking.total,
            published=max((a.published for a in tellings if a.published), default=None),
            image=next((a.image for a in tellings if a.image), None),
            ranking=ranking,
            update_of=outcome.update_of,
        )
        built.append((story, group))  # the whole group: more evidence of its section
    by_section = assign_sections(built, config.sections, config.other_section)
    descriptions = {s.name: s.description for s in config.sections}
    sections = [
        Section(
            name=name,
            stories=tuple(sorted(members, key=lambda s: (-s.score, s.headline))),
            description=descriptions.get(name, ""),
        )
        for name, members in by_section.items()
        if members
    ]
    period = period or local_period(now, config.schedule.timezone)
    edition = Edition(
        name=config.name,
        title=config.title,
        subject=config.subject.format(title=config.title, date=period, name=config.name),
        period=period,
        built_at=now,
        sections=tuple(sections),
        timezone=config.schedule.timezone,
    )
    return cap_edition(edition, config) if capped else edition


def build(
    c: Components, edition_name: str | None, report: RunReport, *, timezone: str | None = None
) -> StoredEdition:
    """Build (or rebuild, while still a draft) this period's edition from the store.

    The period is the local date in the edition's time zone, or in ``timezone`` for
    a local-time delivery group: one edition per date, built by the first group.
    """
    config = c.settings.edition(edition_name)
    now = c.clock()
    period = local_period(now, timezone or config.schedule.timezone)
    existing = c.store.get_edition(config.name, period)
    if existing is not None and existing.status != "draft":
        report.notes.append(
            f"edition {existing.edition.key} is already {existing.status}; not rebuilt"
        )
        stored = existing
    else:
        lookback = timedelta(hours=config.lookback_hours)
        articles = c.store.articles_for_edition(config.name, now - lookback)
        # What went out before: an article in the window may have come just after an
        # edition that is itself outside it, so look back twice as far.
        sent = c.store.sent_stories(config.name, now - 2 * lookback)
        weights = c.settings.source_weights
        llm = c.llm_summariser()
        edition = build_edition(
            articles, config, now, llm=llm, capped=False, weights=weights, sent=sent, period=period
        )
        # Editors' changes to the draft survive the rebuild; pinned stories the caps.
        edits = c.store.edits.all(existing.id) if existing is not None else {}
        edition, renamed = apply_edits(edition, edits, section_names(config, edition))
        edition = cap_edition(edition, config, pinned_ids(edition, edits))
        stored = c.store.save_draft(edition)
        if renamed:
            c.store.edits.rekey(stored.id, renamed)
        if llm is not None:
            report.notes.extend(llm.problems)
        report.articles = len(articles)
    _describe(report, stored)
    return stored


def _describe(report: RunReport, stored: StoredEdition) -> None:
    """Which edition the report is about, for its summary table."""
    report.edition = stored.edition.key
    report.stories = len(stored.edition.stories)
    report.sections = len(stored.edition.sections)


# -- render and deliver -------------------------------------------------------------


def edition_config(c: Components, name: str) -> EditionSettings:
    """The settings of a stored edition's name; when it is no longer configured, a
    stand-in with the defaults (no preheader, the classic theme, no approval)."""
    found = next((e for e in c.settings.editions if e.name == name), None)
    return found or EditionSettings(
        name=name, title=name, sections=(SectionSettings(name="Other"),)
    )


def preview_message(
    c: Components, edition: Edition, sections: Sequence[Section] | None = None
) -> RenderedMessage:
    """The edition as a subscriber without a name gets it (every section, or those)."""
    config = edition_config(c, edition.name)
    return c.renderer.preview(edition, config.preheader, theme=config.theme, sections=sections)


def write_preview(
    c: Components,
    edition: Edition,
    out: Path | None = None,
    *,
    text: bool = False,
    message: RenderedMessage | None = None,
) -> Path:
    """Write the edition as a subscriber without a name sees it, HTML (or text);
    ``message`` when it is rendered already."""
    message = message or preview_message(c, edition)
    path = (
        out
        or c.settings.var_dir
        / "previews"
        / f"{edition.name}-{edition.period}.{'txt' if text else 'html'}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message.text if text else message.html, encoding="utf-8")
    return path


def unsubscribe_url(c: Components, key: bytes, email: str) -> str:
    return f"{c.settings.web.base_url}/unsubscribe/{sign(key, 'unsubscribe', email)}"


def preferences_url(c: Components, key: bytes, email: str) -> str:
    return f"{c.settings.web.base_url}/preferences/{sign(key, 'preferences', email)}"


def write_web_version(c: Components, edition: Edition) -> Path:
    """The edition as a standalone page in the web folder (the archive's source)."""
    path = c.settings.web.editions_dir / edition.name / f"{edition.period}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    theme = edition_config(c, edition.name).theme
    path.write_text(c.renderer.web_page(edition, theme=theme), encoding="utf-8")
    return path


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
) -> DeliveryReport | None:
    """Deliver the edition to every subscriber the ledger says has not had it.

    The configured subscriber list is synced into the database first (a bad list
    stops here), and every combination of sections is rendered before the first
    message leaves, so a template error sends nothing.
    """
    edition = stored.edition
    config = edition_config(c, edition.name)
    _describe(report, stored)
    if c.settings.delivery.transport == "outbox":
        report.outbox = str(c.settings.delivery.outbox_dir)
    if stored.status == "draft" and config.requires_approval:
        report.held = True
        report.notes.append(f"edition {edition.key} waits for an editor's approval; held")
        return None
    if not edition.stories:
        report.notes.append(f"edition {edition.key} has no stories; nothing sent")
        return None
    c.store.subscribers.upsert(c.subscribers(), c.clock())
    key = c.signing_key()
    # Keyed by section names: cheap to hash once per subscriber.
    rendered: dict[tuple[str, ...], RenderedEdition] = {}
    for group in section_groups(edition, c.store.subscribers.topic_choices()):
        names = tuple(s.name for s in group)
        rendered[names] = c.renderer.render(
            edition, group, preheader=config.preheader, theme=config.theme
        )
        if rendered[names].dropped:
            report.notes.append(
                f"{rendered[names].dropped} lowest-ranked stories moved to the web version "
                f"to keep the email under Gmail's 102 KB clip ({', '.join(names)})"
            )

    def render_for(subscriber: Subscriber) -> RenderedEdition:
        return rendered[tuple(s.name for s in sections_for(edition, subscriber.topics))]

    if stored.status in ("draft", "approved") and not c.store.start_sending(stored):
        # An editor changed (or took back) the edition while it was being rendered.
        report.notes.append(
            f"edition {edition.key} changed while it was being prepared; nothing sent, "
            "the next run sends the current version"
        )
        return None
    before = c.store.ledger.counts(stored.id).get(DeliveryState.ACCEPTED.value, 0)
    step = progress.task("Delivering", c.store.subscribers.count())

    def advance(n: int) -> None:
        step(n)
        if on_batch is not None:
            on_batch(n)

    deliverer = Deliverer(
        c.store.ledger, c.transport, clock=c.clock, sleep=c.sleep, policy=c.delivery_policy
    )
    outcome = deliverer.deliver(
        stored.id,
        render_for,
        lambda email: unsubscribe_url(c, key, email),
        preferences_for=lambda email: preferences_url(c, key, email),
        due=due,
        retry_ambiguous=retry_ambiguous,
        on_progress=advance,
        timezone=timezone,
        should_stop=c.stop.is_set,
    )
    counts = outcome.counts
    accepted = counts.get(DeliveryState.ACCEPTED.value, 0)
    report.delivered += accepted - before
    report.already_delivered += before
    unfinished = sum(
        counts.get(state.value, 0)
        for state in (
            DeliveryState.PENDING,
            DeliveryState.SENDING,
            DeliveryState.FAILED,
            DeliveryState.AMBIGUOUS,
        )
    )
    report.failed_deliveries += unfinished + outcome.rejected
    report.ambiguous_deliveries += counts.get(DeliveryState.AMBIGUOUS.value, 0)
    report.notes.extend(outcome.notes)
    if outcome.rejected:
        report.notes.append(f"{outcome.rejected} address(es) rejected by the provider")
    if outcome.stopped:
        report.notes.append("stopped on request between batches; the rest stays pending")
    if unfinished == 0:
        c.store.set_edition_status(stored.id, "sent")
    return outcome


LEASE_TTL = timedelta(minutes=10)


def run(
    c: Components,
    edition_name: str | None,
    progress: Progress = NO_PROGRESS,
    *,
    timezone: str | None = None,
    due: datetime | None = None,
) -> RunReport:
    """One whole cycle: collect, build this period's edition, preview, deliver.

    Only one process runs an edition at a time (a lease in the database); the run
    is recorded in the run history. ``timezone`` limits delivery to the subscribers
    of one time zone (local-time delivery); ``due`` is when the edition is due.
    """
    config = c.settings.edition(edition_name)
    report = RunReport()
    lease = f"edition:{config.name}"
    run_id = c.store.runs.start("run", config.name, None, c.clock())
    if not c.store.leases.acquire(lease, c.holder, LEASE_TTL, c.clock()):
        report.skipped = True
        report.notes.append(f"another process is running edition {config.name}; skipped")
        c.store.runs.finish(run_id, "skipped", c.clock(), error=report.notes[-1])
        return report

    def renew(_: int) -> None:
        c.store.leases.acquire(lease, c.holder, LEASE_TTL, c.clock())

    try:
        collect(c, report, progress)
        stored = build(c, config.name, report, timezone=timezone)
        report.preview = str(write_preview(c, stored.edition))
        report.web_version = str(write_web_version(c, stored.edition))
        send(c, stored, report, progress, due=due, timezone=timezone, on_batch=renew)
    except DigestError as exc:
        c.store.runs.finish(run_id, "failed", c.clock(), error=str(exc), summary=_summary(report))
        raise
    finally:
        c.store.leases.release(lease, c.holder)
    status = "held" if report.held else "ok" if report.failed_deliveries == 0 else "partial"
    period = stored.edition.period
    c.store.runs.finish(run_id, status, c.clock(), summary=_summary(report), period=period)
    return report


def _summary(report: RunReport) -> dict[str, object]:
    return {
        "sources_ok": sum(1 for s in report.sources if s.ok),
        "sources_failed": sum(1 for s in report.sources if not s.ok),
        "sources_failing_in_a_row": sum(
            1 for s in report.sources if s.failure_streak >= FAILURE_STREAK_ALERT
        ),
        "articles": report.articles,
        "stories": report.stories,
        "delivered": report.delivered,
        "already_delivered": report.already_delivered,
        "not_delivered": report.failed_deliveries,
        "ambiguous": report.ambiguous_deliveries,
    }
