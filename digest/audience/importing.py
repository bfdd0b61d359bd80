"""Writing an import: erased addresses refused, the rest to the store with the
editions (newsletters) each row names, or the one ``--edition`` names for all."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from digest.audience.imports import ImportFile
from digest.store.database import Store
from digest.store.subscribers import ImportResult


@dataclass(frozen=True, slots=True)
class Written:
    result: ImportResult
    erased: int  # rows refused: the address was erased (only a confirmed sign-up)
    subscriptions: int  # subscription rows added


def write_import(
    store: Store,
    key: bytes,
    read: ImportFile,
    now: datetime,
    *,
    dry_run: bool = False,
    edition: str | None = None,
) -> Written:
    """Import ``read``; an erased address is refused (counted, never named again)."""
    records = read.records
    if edition is not None:
        records = tuple(replace(r, editions=(edition,)) for r in records)
    erased = store.erasures.erased([r.email.lower() for r in records], key)
    kept = [r for r in records if r.email.lower() not in erased]
    # The editions go in with the subscribers, in one transaction per chunk.
    result = store.subscribers.import_records(kept, now, dry_run=dry_run)
    return Written(result, len(erased), result.subscriptions)
