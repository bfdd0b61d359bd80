"""Writing an import: erased addresses refused, the rest to the store with the
editions (newsletters) each row names, or the one ``--edition`` names for all; and
its dry run, which writes nothing at all (no database, no key file made)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from digest.audience.imports import ImportFile
from digest.settings.config import Settings
from digest.store.database import Store, open_store_unchanged
from digest.store.subscribers import ImportResult
from digest.tokens import existing_signing_key


@dataclass(frozen=True, slots=True)
class Written:
    result: ImportResult
    erased: int  # rows refused: the address was erased (only a confirmed sign-up)
    subscriptions: int  # subscription rows added


def write_import(
    store: Store,
    key: bytes | None,
    read: ImportFile,
    now: datetime,
    *,
    dry_run: bool = False,
    edition: str | None = None,
) -> Written:
    """Import ``read``; an erased address is refused (counted, never named again).
    Without a signing ``key`` (none made yet) nothing can have been erased."""
    records = read.records
    if edition is not None:
        records = tuple(replace(r, editions=(edition,)) for r in records)
    emails = [r.email.lower() for r in records]
    erased = store.erasures.erased(emails, key) if key is not None else set()
    kept = [r for r in records if r.email.lower() not in erased]
    # The editions go in with the subscribers, in one transaction per chunk.
    result = store.subscribers.import_records(kept, now, dry_run=dry_run)
    return Written(result, len(erased), result.subscriptions)


def preview_import(
    settings: Settings, read: ImportFile, now: datetime, *, edition: str | None = None
) -> Written:
    """What importing ``read`` would do (``--dry-run``), writing nothing: the
    database is read as it is (an empty one when none exists yet) and the signing key
    only if it exists already."""
    store = open_store_unchanged(settings.storage.url)
    try:
        secret = settings.web.secret_key
        key = existing_signing_key(secret.get_secret_value() if secret else None, settings.var_dir)
        return write_import(store, key, read, now, dry_run=True, edition=edition)
    finally:
        store.close()
