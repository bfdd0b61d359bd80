"""Alerts: the operator is told once per problem, by email (through the configured
transport, outside the ledger) and/or a JSON POST to a webhook (retried), and the log
says when the problem is resolved.

Problems: an edition past its deadline with deliveries undone, a send stopped on a
refused key (401/403), ambiguous deliveries, a source failing run after run. Checked
by the active scheduler after each catch-up look (and when a send stops on its key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from digest.components import Components
from digest.delivery.notice import notice
from digest.errors import DeliveryError
from digest.models import Subscriber
from digest.store.alerts import Alert

log = logging.getLogger(__name__)

WEBHOOK_TRIES = 3


@dataclass(frozen=True, slots=True)
class Problem:
    key: str  # the same problem keeps its key: it is alerted once
    kind: str  # deadline | auth | ambiguous | source
    message: str


def problems(c: Components, status: dict[str, Any]) -> list[Problem]:
    """The problems the health status and the source log show now."""
    found = []
    for name, edition in status["editions"].items():
        key = f"{name}/{edition['period']}"
        if edition["deadline_passed"]:
            undone = edition["pending"] + edition["failed"]
            found.append(
                Problem(
                    f"deadline:{key}",
                    "deadline",
                    f"edition {key} missed its deadline "
                    f"({edition['deadline']}): {undone} deliveries not done",
                )
            )
        if edition["ambiguous"]:
            found.append(
                Problem(
                    f"ambiguous:{key}",
                    "ambiguous",
                    f"edition {key}: {edition['ambiguous']} "
                    "deliveries are ambiguous (may have gone out); check, then "
                    f"'digest send {key} --retry-ambiguous'",
                )
            )
    limit = c.settings.alerts.source_failures
    names = [s.name for s in c.settings.sources if s.enabled]
    for source in c.store.health.status(names):
        if source.failure_streak >= limit:
            found.append(
                Problem(
                    f"source:{source.source}",
                    "source",
                    f"source {source.source!r} has "
                    f"failed {source.failure_streak} runs in a row: {source.last_error}",
                )
            )
    return found


def check(
    c: Components, current: list[Problem], kinds: set[str], send: Callable[[Alert], None]
) -> None:
    """Open (and notify) the problems of ``kinds`` found now; resolve those of the
    same kinds that are gone."""
    now = c.clock()
    keys = {p.key for p in current}
    for problem in current:
        alert = c.store.alerts.open(problem.key, problem.kind, problem.message, now)
        if alert is not None:
            log.error("alert: %s", problem.message)
            send(alert)
            c.store.alerts.notified(problem.key, now)
    for key in c.store.alerts.open_keys():
        if key.partition(":")[0] in kinds and key not in keys and c.store.alerts.resolve(key, now):
            log.warning("resolved: %s", key)


def notifier(c: Components) -> Callable[[Alert], None]:
    """Sends an alert by every configured way; a failure to notify is logged."""
    settings = c.settings.alerts

    def send(alert: Alert) -> None:
        if settings.email:
            _email(c, settings.email, alert)
        if settings.webhook_url:
            _post(c.client, settings.webhook_url, alert, c.sleep)

    return send


def _email(c: Components, address: str, alert: Alert) -> None:
    site = c.settings.delivery.from_name
    envelope = notice(
        Subscriber(address, "Operator"),
        subject=f"[{site}] {alert.kind}: {alert.message[:120]}",
        paragraphs=[alert.message, f"Since {alert.opened_at:%Y-%m-%d %H:%M} UTC ({alert.key})."],
        unsubscribe_url=f"{c.settings.web.base_url}/desk",
        kind="alert",
    )
    try:
        c.transport.send(envelope)
    except DeliveryError as exc:
        log.error("alert email to %s not sent: %s", address, exc)


def _post(client: httpx.Client, url: str, alert: Alert, sleep: Callable[[float], None]) -> None:
    body = {
        "key": alert.key,
        "kind": alert.kind,
        "message": alert.message,
        "opened_at": alert.opened_at.isoformat(),
    }
    for attempt in range(1, WEBHOOK_TRIES + 1):
        try:
            response = client.post(url, json=body, timeout=10.0)
            if response.status_code < 500:
                if response.status_code >= 400:
                    log.error("alert webhook answered %d", response.status_code)
                return
        except httpx.HTTPError as exc:
            log.warning("alert webhook: %s (try %d of %d)", exc, attempt, WEBHOOK_TRIES)
        if attempt < WEBHOOK_TRIES:
            sleep(2.0**attempt)
    log.error("alert webhook %s not reached after %d tries", url, WEBHOOK_TRIES)
