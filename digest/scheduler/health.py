"""Monitoring that tells the truth: per edition of the current period, what was
delivered and what is not, and whether that is a problem.

An edition is unhealthy when it is overdue (its due time plus the misfire grace
passed with no run of it since and no edition of that period, while the installation
was running), or when it is
unfinished (rows that may still go out, ambiguous rows, or a draft due and not held)
and either no scheduler holds the scheduler lease (nobody will finish it) or its due
time plus the alert grace has passed. An edition held for an editor's approval is
reported as held, not unhealthy. ``/healthz`` and ``digest status`` show the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from digest.components import Components
from digest.models import DeliveryState, local_period
from digest.scheduler.catchup import STARTED_SLACK
from digest.scheduler.plans import SCHEDULER_LEASE, LeadTrigger
from digest.settings.editions import EditionSettings
from digest.store.editions import StoredEdition

WAITING = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)


def health(c: Components, now: datetime) -> dict[str, Any]:
    """Everything monitoring needs, as plain data (``healthy`` overall and per edition)."""
    lease = c.store.leases.current(SCHEDULER_LEASE, c.wall_clock())
    scheduler = {
        "holder": lease.holder if lease else None,
        "lease_until": lease.expires_at.isoformat() if lease else None,
    }
    editions = {e.name: _edition(c, e, now, lease is not None) for e in c.settings.editions}
    return {
        "healthy": all(e["healthy"] for e in editions.values()),
        "scheduler": scheduler,
        "editions": editions,
    }


def _edition(
    c: Components, config: EditionSettings, now: datetime, scheduled: bool
) -> dict[str, Any]:
    lead = timedelta(minutes=c.settings.lead_minutes)
    grace = timedelta(minutes=c.settings.alerts.grace_minutes)
    trigger = LeadTrigger(config.schedule.cron, config.schedule.timezone, lead)
    last_due = trigger.last_due(now)
    period = local_period(now, config.schedule.timezone)
    counts = _counts(c, config.name, period)
    held = _held(c, config, last_due, lead)
    overdue = _overdue(c, config, now, last_due, lead, held)
    due_today = last_due is not None and local_period(last_due, config.schedule.timezone) == period
    stored = c.store.editions.get(config.name, period)
    unfinished = due_today and not held and _unfinished(c, config.name, stored, counts, last_due)
    deadline = config.deadline(period, None, last_due) if due_today else None
    late = bool(last_due is not None and now > last_due + grace)
    problems = _problems(unfinished, scheduled, late, overdue, deadline, now, counts)
    return {
        "period": period,
        "status": stored.status if stored else None,
        "last_due": last_due.isoformat() if last_due else None,
        "deadline": deadline.isoformat() if deadline else None,
        "deadline_passed": bool(unfinished and deadline is not None and now >= deadline),
        "last_success": _last_success(c, config.name),
        "overdue": overdue,
        "held_for_approval": held,
        "unfinished": unfinished,
        **counts,
        "problems": problems,
        "healthy": not problems,
    }


def _unfinished(
    c: Components,
    name: str,
    stored: StoredEdition | None,
    counts: dict[str, int],
    last_due: datetime | None,
) -> bool:
    """Rows that may still go out or need the operator, a draft or approved edition
    due and not sent, or a run that started and left no edition."""
    if sum(counts[s] for s in ("pending", "failed", "ambiguous")) > 0:
        return True
    if stored is not None:
        return stored.status in ("draft", "approved")
    lead = timedelta(minutes=c.settings.lead_minutes)
    since = (last_due or c.clock()) - lead - STARTED_SLACK
    return c.store.runs.started_since(name, None, since, any_group=True)


def _counts(c: Components, name: str, period: str) -> dict[str, int]:
    stored = c.store.editions.get(name, period)
    found = c.store.ledger.counts(stored.id) if stored else {}
    return {
        "delivered": found.get(DeliveryState.ACCEPTED.value, 0),
        "pending": sum(found.get(s, 0) for s in WAITING),
        "failed": found.get(DeliveryState.FAILED.value, 0),
        "ambiguous": found.get(DeliveryState.AMBIGUOUS.value, 0),
        "rejected": found.get(DeliveryState.REJECTED.value, 0),
    }


def _problems(
    unfinished: bool,
    scheduled: bool,
    late: bool,
    overdue: bool,
    deadline: datetime | None,
    now: datetime,
    counts: dict[str, int],
) -> list[str]:
    problems = []
    if overdue:
        problems.append("overdue: no run since it was due")
    if unfinished and deadline is not None and now >= deadline:
        problems.append("past its deadline with deliveries undone")
    elif unfinished and not scheduled:
        problems.append("unfinished, and no scheduler holds the lease to finish it")
    elif unfinished and late:
        problems.append("unfinished past its due time and grace")
    if counts["ambiguous"] and late:
        problems.append(f"{counts['ambiguous']} ambiguous deliveries wait for the operator")
    return problems


def _held(
    c: Components, config: EditionSettings, last_due: datetime | None, lead: timedelta
) -> bool:
    """Waiting for an editor's approval is not a fault of the installation."""
    grace = timedelta(minutes=c.settings.scheduler.misfire_grace_minutes)
    latest = next(iter(c.store.runs.recent(1, edition=config.name)), None)
    return bool(
        latest is not None
        and latest.status == "held"
        and (last_due is None or latest.started_at >= last_due - lead - grace)
    )


def _overdue(
    c: Components,
    config: EditionSettings,
    now: datetime,
    last_due: datetime | None,
    lead: timedelta,
    held: bool,
) -> bool:
    """Its last due time plus the misfire grace passed and nothing was done for it: no
    edition of that period stored and no run of it (a run, a catch-up, a send, however
    it ended) started since it fired, while this installation was already running
    (before its first run, nothing is). What became of a run that did start is the
    edition's state and counts: unfinished, past its deadline, delivered."""
    grace = timedelta(minutes=c.settings.scheduler.misfire_grace_minutes)
    if last_due is None or held or now <= last_due + grace:
        return False
    first = c.store.runs.first_start()
    if first is None or first >= last_due:
        return False
    period = local_period(last_due, config.schedule.timezone)
    if c.store.editions.get(config.name, period) is not None:
        return False
    since = last_due - lead - grace
    return not c.store.runs.started_since(config.name, None, since, any_group=True)


def _last_success(c: Components, name: str) -> str | None:
    last = c.store.runs.last_success(name)
    return last.started_at.isoformat() if last else None
