"""Rows left in flight (``sending``): by batch, and which of them a process that is
gone left behind, for crash recovery. A row names its claimer (``claimed_by``, the
claiming process's lease holder); recovery takes only rows whose claimer is provably
gone, never the live batch of another process or of another thread of this one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from digest.models import DeliveryState
from digest.store.leases import edition_lease_name
from digest.store.schema import deliveries, editions, leases

SENDING = DeliveryState.SENDING.value


@dataclass(frozen=True, slots=True)
class InFlight:
    """Rows left ``sending`` (a crash, or a run still going): one entry per batch."""

    batch_id: str | None
    send_at: datetime | None
    ids: tuple[int, ...]


def in_flight(engine: Engine, edition_id: int) -> list[InFlight]:
    """Every row of the edition left ``sending``, by batch."""
    return _batches(_sending(engine, edition_id))


def abandoned(
    engine: Engine,
    edition_id: int,
    holder: str | None,
    now: datetime,
    gone: Callable[[str], bool],
    live: frozenset[str] = frozenset(),
) -> list[InFlight]:
    """Rows left ``sending`` whose claimer is provably gone, by batch: claimed by
    nobody known, or by another process whose pid is gone on this host (``gone``) or
    which no longer holds the edition's lease at ``now`` (it expired, or was taken
    over: such a process stops between batches). Rows of the live lease holder are
    left alone, and those of ``holder`` (this process) in a batch it is sending now
    (``live``: another thread, a local-time group); its other rows were left by a
    send of this process that ended on an error, and are recovered."""
    with engine.connect() as conn:
        name = conn.scalar(select(editions.c.name).where(editions.c.id == edition_id))
        leaseholder = conn.scalar(
            select(leases.c.holder).where(
                leases.c.name == edition_lease_name(str(name)), leases.c.expires_at >= now
            )
        )
    dead: dict[str, bool] = {}

    def left(row: Any) -> bool:
        claimer = row.claimed_by
        if claimer is None:
            return True
        if claimer == holder:
            return row.batch_id not in live
        if claimer not in dead:
            dead[claimer] = claimer != leaseholder or gone(claimer)
        return dead[claimer]

    return _batches([row for row in _sending(engine, edition_id) if left(row)])


def _sending(engine: Engine, edition_id: int) -> list[Any]:
    query = (
        select(deliveries.c.id, deliveries.c.batch_id, deliveries.c.send_at)
        .add_columns(deliveries.c.claimed_by)
        .where(deliveries.c.edition_id == edition_id, deliveries.c.state == SENDING)
        .order_by(deliveries.c.batch_id, deliveries.c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _batches(rows: Sequence[Any]) -> list[InFlight]:
    batches: dict[str | None, InFlight] = {}
    for row in rows:
        found = batches.get(row.batch_id)
        ids = (*found.ids, row.id) if found else (row.id,)
        batches[row.batch_id] = InFlight(row.batch_id, row.send_at, ids)
    return list(batches.values())
