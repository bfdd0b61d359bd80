"""Sending one edition: whether it may go out now, claiming it, and the deliverer's
run over the ledger with its outcome in the run report."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from digest.components import Components
from digest.delivery.deliverer import Deliverer
from digest.delivery.requests import DeliveryReport
from digest.links import preferences_url, unsubscribe_url
from digest.models import DeliveryState, RunReport, Subscriber
from digest.rendering.groups import sections_for
from digest.rendering.personal import RenderedEdition
from digest.settings.editions import EditionSettings
from digest.store.editions import StoredEdition

UNFINISHED = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.FAILED,
    DeliveryState.AMBIGUOUS,
)


def ready_to_send(stored: StoredEdition, config: EditionSettings, report: RunReport) -> bool:
    """False (and why, in the report) when the edition waits for an editor's approval
    or has nothing to send."""
    edition = stored.edition
    if stored.status == "draft" and config.requires_approval:
        report.held = True
        report.notes.append(f"edition {edition.key} waits for an editor's approval; held")
        return False
    if not edition.stories:
        report.notes.append(f"edition {edition.key} has no stories; nothing sent")
        return False
    return True


def claim_for_sending(c: Components, stored: StoredEdition, report: RunReport) -> bool:
    """Draft or approved -> sending, only if it is still the version just rendered."""
    if stored.status in ("draft", "approved") and not c.store.editions.start_sending(stored):
        # An editor changed (or took back) the edition while it was being rendered.
        report.notes.append(
            f"edition {stored.edition.key} changed while it was being prepared; nothing sent, "
            "the next run sends the current version"
        )
        return False
    return True


def deliver_edition(
    c: Components,
    stored: StoredEdition,
    rendered: Mapping[tuple[str, ...], RenderedEdition],
    report: RunReport,
    advance: Callable[[int], None],
    *,
    due: datetime | None = None,
    retry_ambiguous: bool = False,
    timezone: str | None = None,
    deadline: datetime | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Deliver ``rendered`` (by section names) to every subscriber the ledger says has
    not had it; the edition is marked sent once nobody is left."""
    edition = stored.edition
    key = c.signing_key()
    base = c.settings.web.base_url

    def render_for(subscriber: Subscriber) -> RenderedEdition:
        return rendered[tuple(s.name for s in sections_for(edition, subscriber.topics))]

    before = c.store.ledger.counts(stored.id).get(DeliveryState.ACCEPTED.value, 0)
    deliverer = Deliverer(
        c.store.ledger,
        c.transport,
        clock=c.clock,
        sleep=c.sleep,
        policy=c.delivery_policy,
        holder=c.holder,
        wall_clock=c.wall_clock,
    )
    outcome = deliverer.deliver(
        stored.id,
        render_for,
        lambda email: unsubscribe_url(base, key, email, edition.name),
        preferences_for=lambda email: preferences_url(base, key, email),
        due=due,
        retry_ambiguous=retry_ambiguous,
        on_progress=advance,
        timezone=timezone,
        should_stop=lambda: c.stop.is_set() or should_stop(),
        deadline=deadline,
    )
    if outcome.stopped:
        report.notes.append(
            "stopped on request between batches; the rest stays pending"
            if c.stop.is_set()
            else "stopped between batches: this process no longer holds the edition's lease "
            "(the process that took it over finishes the send)"
        )
    if not sum(outcome.counts.values()):
        report.notes.append(f"edition {edition.key} has no subscribers; nothing sent")
    if _tally(report, outcome, before) == 0:
        c.store.editions.set_status(stored.id, "sent")
    return outcome


def _tally(report: RunReport, outcome: DeliveryReport, before: int) -> int:
    """Add the outcome to the report; the number of deliveries still unfinished."""
    counts = outcome.counts
    accepted = counts.get(DeliveryState.ACCEPTED.value, 0)
    report.delivered += accepted - before
    report.already_delivered += before
    unfinished = sum(counts.get(state.value, 0) for state in UNFINISHED)
    report.failed_deliveries += unfinished + outcome.rejected
    report.ambiguous_deliveries += counts.get(DeliveryState.AMBIGUOUS.value, 0)
    report.notes.extend(outcome.notes)
    if outcome.rejected:
        report.notes.append(f"{outcome.rejected} address(es) rejected by the provider")
    report.expired = report.expired or outcome.expired
    return unfinished
