"""Bounces and complaints from a mailbox, applied like the SendGrid webhook's events.

Each unread letter is read as reports (``delivery.reports``); each report is matched
back to one of our deliveries to the address it names: the delivery whose Message-ID
it quotes, or else the latest one (a report about an address we never mailed is not
applied). Then:

- a hard bounce suppresses the address (``bounced``), a complaint too (``complained``);
- a soft bounce is counted per edition; the address is suppressed once its last
  ``soft_bounce_limit`` editions all soft-bounced (in a row);
- a report seen before changes nothing (the letter's id and the address key it).

A letter whose reports all applied (or that needs nothing: a delay notice) is marked
read; one that cannot be read or matched stays unread and is listed, never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from digest.components import Components
from digest.delivery.events import WebhookEvent, apply_events
from digest.delivery.mailboxes import Mailbox, MaildirMailbox, open_mailbox
from digest.delivery.mime import message_id_for
from digest.delivery.reports import Report, Unreadable, read_reports
from digest.errors import ConfigError
from digest.models import DeliveryState, SubscriberStatus
from digest.settings.config import Settings
from digest.store.database import Store

log = logging.getLogger(__name__)

SENT = (DeliveryState.ACCEPTED.value, DeliveryState.AMBIGUOUS.value)


@dataclass(frozen=True, slots=True)
class BounceRules:
    """What matching needs: our sender (Message-IDs carry its domain), the return path
    (VERP addresses), and how many soft bounces in a row suppress."""

    from_email: str
    return_path: str | None = None
    soft_bounce_limit: int = 3


@dataclass(slots=True)
class BounceSummary:
    letters: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    suppressed: int = 0
    repeated: int = 0
    nothing_to_do: int = 0  # delay and delivery notices
    left: list[str] = field(default_factory=list)  # "KEY: why", letters left unread

    def line(self) -> str:
        return (
            f"{self.letters} letters: {self.hard} hard bounces, {self.soft} soft bounces, "
            f"{self.complaints} complaints ({self.suppressed} addresses suppressed, "
            f"{self.repeated} seen before), {self.nothing_to_do} needing nothing, "
            f"{len(self.left)} left unread"
        )


class _NotOurs(Exception):
    """The report names no delivery of ours."""


def import_bounces(
    store: Store, mailbox: Mailbox, rules: BounceRules, now: datetime
) -> BounceSummary:
    """Read every unread letter of ``mailbox`` and apply what it reports."""
    summary = BounceSummary()
    for letter in mailbox.letters():
        summary.letters += 1
        try:
            reports = read_reports(letter.raw, rules.return_path)
            for report in reports:
                _apply(store, report, rules, now, summary)
        except (Unreadable, _NotOurs) as why:
            summary.left.append(f"{letter.key}: {why}")
            log.warning("bounce mailbox %s: %s left unread: %s", mailbox.name, letter.key, why)
            continue
        if not reports:
            summary.nothing_to_do += 1
        mailbox.done(letter)
    return summary


def _delivery(store: Store, report: Report, rules: BounceRules) -> tuple[str, str]:
    """(address, edition key) of the delivery the report is about."""
    address = report.address
    if address is None:
        raise _NotOurs("it names no recipient")
    sent = [key for key, state in store.ledger.deliveries_to(address) if state in SENT]
    if report.message_id:
        for key in sent:
            if message_id_for(key, address, rules.from_email) == report.message_id:
                return address, key
        raise _NotOurs(f"it quotes {report.message_id}, no message of ours to {address}")
    if not sent:
        raise _NotOurs(f"no delivery of ours to {address}")
    return address, sent[0]


def _apply(
    store: Store, report: Report, rules: BounceRules, now: datetime, summary: BounceSummary
) -> None:
    address, edition = _delivery(store, report, rules)
    if report.kind == "soft":
        summary.soft += 1
        _soft(store, address, edition, report, rules, now, summary)
        return
    summary.hard += report.kind == "hard"
    summary.complaints += report.kind == "complaint"
    kind = "bounce" if report.kind == "hard" else "spamreport"
    event = WebhookEvent(
        f"mail:{report.report_id}:{address}"[:100],
        kind,
        address,
        int(now.timestamp()),
        report.reason,
        edition.partition("/")[0],
    )
    counts = apply_events(store.subscribers, [event], now)
    summary.suppressed += counts["suppressed"]
    summary.repeated += counts["repeated"]


def _soft(
    store: Store,
    address: str,
    edition: str,
    report: Report,
    rules: BounceRules,
    now: datetime,
    summary: BounceSummary,
) -> None:
    """One soft bounce per edition counts; the last ``soft_bounce_limit`` editions
    sent to the address all soft-bounced: suppressed."""
    if not store.subscribers.record_event(soft_id(edition, address), "softbounce", address, now):
        summary.repeated += 1
        return
    recent = [k for k, s in store.ledger.deliveries_to(address) if s in SENT]
    recent = recent[: rules.soft_bounce_limit]
    if len(recent) < rules.soft_bounce_limit:
        return
    seen = store.subscribers.events_seen([soft_id(k, address) for k in recent])
    if len(seen) == len(recent):
        why = f"{len(recent)} soft bounces in a row: {report.reason}"
        if store.subscribers.set_status(address, SubscriberStatus.BOUNCED, why, now):
            summary.suppressed += 1
            log.info("%s suppressed after %s", address, why)


def soft_id(edition: str, address: str) -> str:
    return f"soft:{edition}:{address}"[:100]


def rules_for(settings: Settings) -> BounceRules:
    delivery, bounces = settings.delivery, settings.bounces
    return BounceRules(
        from_email=delivery.from_email,
        return_path=delivery.smtp.return_path if delivery.smtp else None,
        soft_bounce_limit=bounces.soft_bounce_limit if bounces else 3,
    )


def import_configured(c: Components, maildir: Path | None = None) -> BounceSummary:
    """Read the configured bounce mailbox (or ``maildir``) and apply what it reports."""
    bounces = c.settings.bounces
    if maildir is not None:
        mailbox: Mailbox = MaildirMailbox(maildir)
    elif bounces is not None:
        mailbox = open_mailbox(bounces)
    else:
        raise ConfigError("no [bounces] table: set maildir or imap_url", field="bounces")
    try:
        return import_bounces(c.store, mailbox, rules_for(c.settings), c.clock())
    finally:
        mailbox.close()
