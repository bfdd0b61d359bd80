"""How the subscriber statuses of other newsletter tools map onto ours.

The rule is to carry consent over and never invent it: a value that says the tool
mails the address becomes active, one that says it does not becomes the
suppression it names, and one that says nothing about opt-in (listmonk's
``enabled``) becomes pending, which is never mailed until a confirmed sign-up. A
value not listed here is no guess: its row is reported and not imported. For an
address already known, an import only ever lowers the status
(:func:`imported_status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from digest.models import SubscriberStatus as S

# Mailchimp writes one file per list kind and no status column; the kind comes from
# the file's columns (UNSUB_TIME, CLEAN_TIME) or its name. "nonsubscribed" are
# contacts who never opted in (store customers, transactional mail): unsubscribed,
# not pending, so no future confirmation mail reaches people who never asked.
MAILCHIMP = {
    "subscribed": S.ACTIVE,
    "unsubscribed": S.UNSUBSCRIBED,
    "cleaned": S.BOUNCED,  # hard bounces, or repeated soft ones
    "nonsubscribed": S.UNSUBSCRIBED,
}

# Ghost: subscribed_to_emails (true when the member gets at least one newsletter).
GHOST = {"true": S.ACTIVE, "false": S.UNSUBSCRIBED}

# listmonk's subscriber status; a subscription's own (unconfirmed, confirmed,
# unsubscribed per list) is not in the export. "enabled" is active only when the
# operator says the export was filtered to subscriptions that get campaigns
# (--format listmonk-subscribed).
LISTMONK = {"enabled": S.PENDING, "disabled": S.UNSUBSCRIBED, "blocklisted": S.BLOCKLISTED}
LISTMONK_SUBSCRIBED = {**LISTMONK, "enabled": S.ACTIVE}

# Substack: email_disabled (the reader gets no emails: removed, or undeliverable).
SUBSTACK = {"false": S.ACTIVE, "true": S.UNSUBSCRIBED}

# Buttondown's subscriber_type (its API's SubscriberType).
BUTTONDOWN = {
    "regular": S.ACTIVE,
    "premium": S.ACTIVE,
    "trialed": S.ACTIVE,
    "gifted": S.ACTIVE,
    "churning": S.ACTIVE,
    "past_due": S.ACTIVE,
    "upcoming": S.ACTIVE,
    "churned": S.ACTIVE,  # no longer paying; still gets the free emails
    "unpaid": S.ACTIVE,
    "paused": S.PAUSED,  # a hold on a paid subscription
    "unactivated": S.PENDING,  # never confirmed the address
    "unsubscribed": S.UNSUBSCRIBED,
    "removed": S.BLOCKLISTED,  # removed by the newsletter
    "blocked": S.BLOCKLISTED,  # blocked at sign-up by Buttondown's filters
    "spammy": S.BLOCKLISTED,  # older exports
    "undeliverable": S.BOUNCED,
    "complained": S.COMPLAINED,
}

# beehiiv's subscription status.
BEEHIIV = {
    "active": S.ACTIVE,
    "pending": S.PENDING,  # double opt-in not confirmed
    "validating": S.PENDING,
    "needs_attention": S.PENDING,  # waits for the publisher's approval
    "inactive": S.UNSUBSCRIBED,
    "invalid": S.BOUNCED,
}


def status_of(table: Mapping[str, S], column: str, value: str) -> S:
    """The status a tool's ``value`` of ``column`` means; ValueError for a value the
    table does not list (compared trimmed and case-insensitively)."""
    found = table.get(value.strip().lower())
    if found is None:
        known = ", ".join(table)
        raise ValueError(f"{column} {value.strip()[:40]!r} is not one of {known}")
    return found


# Suppressions: only the subscriber's own action (a confirmed sign-up) lifts them.
STOPPED = frozenset({S.UNSUBSCRIBED, S.BOUNCED, S.COMPLAINED, S.DROPPED, S.BLOCKLISTED})

# Suppressions that are facts about the address, not a choice its owner may revisit:
# they apply whatever was chosen here.
FACTS = frozenset({S.BOUNCED, S.COMPLAINED, S.DROPPED, S.BLOCKLISTED})


def imported_status(
    here: S,
    wanted: S,
    *,
    own_choice: datetime | None,
    unsubscribed_at: datetime | None = None,
) -> S:
    """What an imported file's status makes of a known subscriber's: only ever less
    mailing. An address stopped here stays as it is. The file's suppression applies,
    and its pause to an active subscriber; its active or pending changes nothing
    (pending says only that the file shows no opt-in).

    A subscriber who made their own choice here (``own_choice``: when they confirmed
    a sign-up or saved the preferences page) keeps it, except against a bounce, a
    complaint or a blocklisting (facts about the address) and an unsubscribe, unless
    the file dates that unsubscribe (``unsubscribed_at``) before their choice here."""
    if here in STOPPED:
        return here
    if own_choice is not None:
        if wanted in FACTS:
            return wanted
        if wanted == S.UNSUBSCRIBED and (unsubscribed_at is None or unsubscribed_at >= own_choice):
            return wanted
        return here
    if wanted in STOPPED:
        return wanted
    if wanted == S.PAUSED and here == S.ACTIVE:
        return wanted
    return here


def when(value: str) -> datetime | None:
    """A date and time as exports write them (ISO 8601, a space for the ``T``, a
    trailing ``UTC`` or ``Z``); a time without a zone is UTC. None when empty or
    unreadable: the file then gives no date."""
    text = value.strip()
    if text.upper().endswith(" UTC"):
        text = text[:-4]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
