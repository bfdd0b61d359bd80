"""The pipeline: collect -> clean -> store -> stories -> summaries -> sections ->
render -> deliver. The only module that knows the order of the stages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from digest import stories as stories_stage
from digest.cleaning import clean
from digest.components import Components
from digest.delivery import Deliverer, DeliveryReport
from digest.errors import DigestError, ExtractionError, SourceError
from digest.headlines import choose_headline
from digest.models import (
    Article,
    DeliveryState,
    Edition,
    RawDocument,
    RunReport,
    Section,
    SourceReport,
    Story,
    StoryLink,
    Subscriber,
)
from digest.rendering import RenderedEdition, sections_for
from digest.settings import EditionSettings
from digest.sources import Source
from digest.store import StoredEdition
from digest.summarise import summarise
from digest.summarise.llm import LLMSummariser
from digest.tokens import sign
from digest.topics import assign_sections

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


def collect(c: Components, report: RunReport, progress: Progress = NO_PROGRESS) -> int:
    """Fetch every source (concurrently, on a bounded pool), clean each document,
    store new articles. One failing source or document is recorded and skipped;
    the others go on."""
    step = progress.task("Collecting", len(c.sources))

    def fetch(source: Source) -> list[RawDocument] | SourceError:
        try:
            return source.fetch()
        except SourceError as exc:
            return exc

    total_new = 0
    workers = max(1, min(c.settings.fetching.max_concurrency, len(c.sources)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        # Cleaning and storing stay on this thread, in configuration order.
        for source, outcome in zip(c.sources, pool.map(fetch, c.sources), strict=True):
            step(1)
            if isinstance(outcome, SourceError):
                log.info("%s", outcome)
                report.sources.append(SourceReport(source.name, ok=False, error=outcome.reason))
                continue
            articles: list[Article] = []
            for document in outcome:
                try:
                    articles.append(clean(document))
                except ExtractionError as exc:
                    report.documents_skipped.append(f"{source.name}: {exc}")
            new = c.store.add_articles(articles, c.clock())
            total_new += new
            report.sources.append(SourceReport(source.name, ok=True, fetched=len(outcome), new=new))
    return total_new


# -- build --------------------------------------------------------------------------


def build_edition(
    articles: Sequence[Article],
    config: EditionSettings,
    now: datetime,
    *,
    capped: bool = True,
    llm: LLMSummariser | None = None,
) -> Edition:
    """Stories, summaries and sections from ``articles``; no I/O but the optional LLM.

    ``capped=False`` keeps every story and section (``digest build --all``).
    """
    groups = stories_stage.group_articles(articles)
    now_ts = now.timestamp()
    built: list[tuple[Story, list[Article]]] = []
    for group in groups:
        summary = summarise(group, config.summary_words)
        if llm is not None:
            summary = llm.summarise(group, config.summary_words, fallback=summary)
        story = Story(
            id=stories_stage.story_id(group),
            headline=choose_headline(group),
            summary=summary,
            articles=tuple(StoryLink(a.id, a.source, a.title, a.url) for a in group),
            score=stories_stage.story_score(group, now_ts),
            published=max((a.published for a in group if a.published), default=None),
            image=next((a.image for a in group if a.image), None),
        )
        built.append((story, group))
    by_section = assign_sections(built, config.sections, config.other_section)
    descriptions = {s.name: s.description for s in config.sections}
    sections: list[Section] = []
    kept: set[str] | None = None
    if capped:
        # The best stories of the whole edition, at most max_per_section from one
        # section: a section late in the configuration is not starved by earlier ones.
        kept, per_section = set(), dict.fromkeys(by_section, 0)
        everything = [(story, name) for name, members in by_section.items() for story in members]
        for story, name in sorted(everything, key=lambda p: (-p[0].score, p[0].headline)):
            if len(kept) < config.max_stories and per_section[name] < config.max_per_section:
                kept.add(story.id)
                per_section[name] += 1
    for name, members in by_section.items():
        ranked = sorted(members, key=lambda s: (-s.score, s.headline))
        if kept is not None:
            ranked = [story for story in ranked if story.id in kept]
        if ranked:
            sections.append(
                Section(name=name, stories=tuple(ranked), description=descriptions.get(name, ""))
            )
    period = local_period(now, config.schedule.timezone)
    return Edition(
        name=config.name,
        title=config.title,
        subject=config.subject.format(title=config.title, date=period, name=config.name),
        period=period,
        built_at=now,
        sections=tuple(sections),
        timezone=config.schedule.timezone,
    )


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
        articles = c.store.articles_for_edition(
            config.name, now - timedelta(hours=config.lookback_hours)
        )
        llm = c.llm_summariser()
        edition = build_edition(articles, config, now, llm=llm)
        if timezone is not None:
            edition = replace(edition, period=period)
        stored = c.store.save_draft(edition)
        if llm is not None:
            report.notes.extend(llm.problems)
        report.articles = len(articles)
    report.edition = stored.edition.key
    report.stories = len(stored.edition.stories)
    report.sections = len(stored.edition.sections)
    return stored


# -- render and deliver -------------------------------------------------------------


def preheader(c: Components, edition: Edition) -> str:
    """The configured preheader; empty (derived from the headlines) when not set."""
    config = next((e for e in c.settings.editions if e.name == edition.name), None)
    return config.preheader if config else ""


def write_preview(
    c: Components, edition: Edition, out: Path | None = None, *, text: bool = False
) -> Path:
    """Render the edition as a subscriber without a name sees it; write HTML (or text)."""
    message = c.renderer.preview(edition, preheader(c, edition), theme=theme(c, edition))
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


def theme(c: Components, edition: Edition) -> str:
    config = next((e for e in c.settings.editions if e.name == edition.name), None)
    return config.theme if config else "classic"


def write_web_version(c: Components, edition: Edition) -> Path:
    """The edition as a standalone page in the web folder (the archive's source)."""
    path = c.settings.web.editions_dir / edition.name / f"{edition.period}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(c.renderer.web_page(edition, theme=theme(c, edition)), encoding="utf-8")
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
    if not edition.stories:
        report.notes.append(f"edition {edition.key} has no stories; nothing sent")
        return None
    c.store.subscribers.upsert(c.subscribers(), c.clock())
    key = c.signing_key()
    rendered: dict[tuple[str, ...], RenderedEdition] = {}
    for topics in c.store.subscribers.topic_choices():
        combo = tuple(x.name for x in sections_for(edition, topics))
        if combo not in rendered:
            chosen = [x for x in edition.sections if x.name in combo]
            rendered[combo] = c.renderer.render(
                edition, chosen, preheader=preheader(c, edition), theme=theme(c, edition)
            )
            if rendered[combo].dropped:
                report.notes.append(
                    f"{rendered[combo].dropped} lowest-ranked stories moved to the web version "
                    f"to keep the email under Gmail's 102 KB clip ({', '.join(combo)})"
                )

    def render_for(subscriber: Subscriber) -> RenderedEdition:
        return rendered[tuple(x.name for x in sections_for(edition, subscriber.topics))]

    if stored.status == "draft":
        c.store.set_edition_status(stored.id, "sending")
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
    if not c.store.leases.acquire(lease, c.holder, LEASE_TTL, c.clock()):
        report.skipped = True
        report.notes.append(f"another process is running edition {config.name}; skipped")
        run_id = c.store.runs.start("run", config.name, None, c.clock())
        c.store.runs.finish(run_id, "skipped", c.clock(), error=report.notes[-1])
        return report
    run_id = c.store.runs.start("run", config.name, None, c.clock())

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
    if c.settings.delivery.transport == "outbox":
        report.outbox = str(c.settings.delivery.outbox_dir)
    status = "ok" if report.failed_deliveries == 0 else "partial"
    period = stored.edition.period
    c.store.runs.finish(run_id, status, c.clock(), summary=_summary(report), period=period)
    return report


def _summary(report: RunReport) -> dict[str, object]:
    return {
        "sources_ok": sum(1 for s in report.sources if s.ok),
        "sources_failed": sum(1 for s in report.sources if not s.ok),
        "articles": report.articles,
        "stories": report.stories,
        "delivered": report.delivered,
        "already_delivered": report.already_delivered,
        "not_delivered": report.failed_deliveries,
        "ambiguous": report.ambiguous_deliveries,
    }
