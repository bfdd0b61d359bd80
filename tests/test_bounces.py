"""Bounces and complaints read from a mailbox: delivery status notifications in the
shapes Gmail, Outlook (Exchange Online) and Postfix send, ARF complaint reports, a
delay notice, and letters that cannot be read; from a Maildir, and from a real IMAP
server (Debian's dovecot, started here when it can be). Applied like the SendGrid
webhook's events; nothing unreadable is lost."""

from __future__ import annotations

import imaplib
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from digest.delivery.bounces import BounceRules, import_bounces
from digest.delivery.mailboxes import ImapMailbox, Letter, MaildirMailbox, MemoryMailbox
from digest.delivery.mime import message_id_for
from digest.delivery.reports import Unreadable, read_reports
from digest.errors import MailboxError
from digest.models import DeliveryState, Edition, Subscriber, SubscriberStatus
from digest.scheduler.wiring import Runner
from digest.settings.delivery import BouncesSettings
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW, make_components
from tests.smtp_server import make_certificate

FROM = "digest@news.example"
RULES = BounceRules(from_email=FROM, return_path="bounces@news.example", soft_bounce_limit=3)
DIGEST = [sys.executable, "-m", "digest"]
PEOPLE = ["ann", "bob", "cy", "dee", "eve", "fay", "gus"]


def address(name: str) -> str:
    return f"{name}@mail.example"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    opened.subscribers.upsert([Subscriber(address(p), p.title()) for p in PEOPLE], FIXED_NOW)
    yield opened
    opened.close()


def sent(store: Store, period: str) -> str:
    """An edition delivered to everyone; its key."""
    edition = Edition("morning", "Morning", "Morning", period, FIXED_NOW, ())
    edition_id = store.editions.save_draft(edition).id
    store.ledger.enqueue(edition_id, FIXED_NOW)
    claimed = store.ledger.claim(edition_id, 100, f"b-{period}", FIXED_NOW)
    ids = [c.delivery_id for c in claimed]
    store.ledger.mark(ids, DeliveryState.ACCEPTED, FIXED_NOW, message_id="q")
    return f"morning/{period}"


# -- letters in the shapes real servers send ---------------------------------------------


def _original(edition: str, to: str, *, headers_only: bool) -> str:
    ident = message_id_for(edition, to, FROM)
    head = f"From: The Morning Digest <{FROM}>\nTo: {to}\nMessage-ID: {ident}\nSubject: Morning\n"
    if headers_only:
        return f"Content-Type: text/rfc822-headers\n\n{head}"
    return f"Content-Type: message/rfc822\n\n{head}\nToday's stories\n"


def dsn(
    to: str,
    edition: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    style: str = "postfix",
    verp: bool = True,
    quote: bool = True,
    ident: str = "<dsn-1@mx.example>",
) -> bytes:
    envelope = f"bounces+{to.replace('@', '=')}@news.example" if verp else "bounces@news.example"
    reporting = {
        "gmail": "dns; googlemail.com",
        "outlook": "dns;AM0PR01MB1234.eurprd01.prod.outlook.com",
        "postfix": "dns; mx.mail.example",
    }[style]
    diagnostic = {
        "gmail": "smtp; 550-5.1.1 The email account that you tried to reach does not exist.",
        "outlook": "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found",
        "postfix": f"smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown",
    }[style]
    if status.startswith("4"):
        diagnostic = "smtp; 452 4.2.2 The recipient's inbox is out of storage space."
    recipient = (
        f"Original-Recipient: rfc822;{to}\nFinal-Recipient: rfc822;{to}"
        if style == "outlook"
        else f"Final-Recipient: rfc822; {to}"
    )
    original = _original(edition, to, headers_only=style != "gmail") if quote else ""
    text = f"""Return-Path: <>
Delivered-To: {envelope}
From: Mail Delivery Subsystem <mailer-daemon@{style}.example>
To: {envelope}
Subject: Delivery Status Notification (Failure)
Message-ID: {ident}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XX"

--XX
Content-Type: text/plain; charset=utf-8

Your message wasn't delivered to {to}.

--XX
Content-Type: message/delivery-status

Reporting-MTA: {reporting}
Arrival-Date: Mon, 07 Dec 2026 06:00:02 +0000

{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--XX
{original}
--XX--
"""
    return text.replace("\n", "\r\n").encode()


def arf(to: str, edition: str, *, rcpt_header: bool = True) -> bytes:
    rcpt = f"Original-Rcpt-To: <{to}>\n" if rcpt_header else ""
    text = f"""From: feedback@fbl.mail.example
To: fbl@news.example
Subject: complaint about message
Message-ID: <arf-{to}@fbl.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="YY"

--YY
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--YY
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeFBL/1.0
Version: 1
Original-Mail-From: <bounces@news.example>
{rcpt}Arrival-Date: Mon, 07 Dec 2026 06:30:00 +0000

--YY
{_original(edition, to, headers_only=False)}
--YY--
"""
    return text.replace("\n", "\r\n").encode()


# -- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["gmail", "outlook", "postfix"])
def test_each_style_of_bounce_is_read(style: str) -> None:
    [report] = read_reports(
        dsn(address("ann"), "morning/2026-12-07", style=style), "bounces@news.example"
    )
    assert report.kind == "hard" and report.address == address("ann")
    assert report.message_id == message_id_for("morning/2026-12-07", address("ann"), FROM)
    assert report.reason.startswith("5.1.1") or report.reason.startswith("5.1.10")


def test_complaints_soft_bounces_and_notices() -> None:
    [complaint] = read_reports(arf(address("bob"), "morning/2026-12-07"))
    assert complaint.kind == "complaint" and complaint.recipient == address("bob")
    [no_rcpt] = read_reports(arf(address("bob"), "morning/2026-12-07", rcpt_header=False))
    assert no_rcpt.recipient == address("bob")  # from the quoted message's To
    [soft] = read_reports(dsn(address("cy"), "morning/2026-12-07", status="4.2.2"))
    assert soft.kind == "soft"
    assert (
        read_reports(dsn(address("cy"), "morning/2026-12-07", action="delayed", status="4.4.7"))
        == []
    )


@pytest.mark.parametrize(
    ("letter", "why"),
    [
        (b"From: x@y\r\nSubject: out of office\r\n\r\nI am away.\r\n", "not a multipart/report"),
        (dsn("ann@mail.example", "m/1", status="five"), "malformed status"),
        (
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="Z"\r\n\r\n'
            b"--Z\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--Z--\r\n",
            "without its message/delivery-status part",
        ),
    ],
)
def test_what_cannot_be_read_says_why(letter: bytes, why: str) -> None:
    with pytest.raises(Unreadable, match=why):
        read_reports(letter)


# -- applying ------------------------------------------------------------------------------


def test_bounces_and_complaints_suppress_and_the_rest_is_left_unread(store: Store) -> None:
    day = sent(store, "2026-12-07")
    mailbox = MemoryMailbox(
        [
            Letter("1", dsn(address("ann"), day, style="gmail", ident="<g1@x>")),
            Letter("2", dsn(address("bob"), day, style="outlook", verp=False, ident="<o1@x>")),
            Letter("3", arf(address("cy"), day)),
            Letter("4", dsn(address("dee"), day, action="delayed", status="4.4.7", ident="<d@x>")),
            Letter("5", b"Subject: I am on holiday\r\n\r\nback Monday\r\n"),
            Letter("6", dsn("stranger@else.example", day, verp=False, ident="<s@x>")),
            # A Message-ID that is not ours for this address: forged or misrouted.
            Letter("7", dsn(address("eve"), "morning/1999-01-01", verp=False, ident="<f@x>")),
            Letter("8", dsn(address("fay"), day, status="4.2.2", ident="<soft@x>")),
        ]
    )
    summary = import_bounces(store, mailbox, RULES, FIXED_NOW)
    status = store.subscribers.status
    assert status(address("ann")) == SubscriberStatus.BOUNCED
    assert status(address("bob")) == SubscriberStatus.BOUNCED
    assert status(address("cy")) == SubscriberStatus.COMPLAINED
    for name in ("dee", "eve", "fay", "gus"):
        assert status(address(name)) == SubscriberStatus.ACTIVE
    assert (summary.hard, summary.complaints, summary.soft, summary.suppressed) == (2, 1, 1, 3)
    assert summary.nothing_to_do == 1
    assert sorted(mailbox.read) == ["1", "2", "3", "4", "8"]
    left = " ".join(summary.left)
    assert "5: a text/plain message" in left and "6: it quotes" in left and "7: it quotes" in left
    # Again: every letter read is not read twice; the others are still reported.
    again = import_bounces(store, mailbox, RULES, FIXED_NOW)
    assert again.letters == 3 and len(again.left) == 3 and again.suppressed == 0


def test_the_same_report_twice_changes_nothing(store: Store) -> None:
    day = sent(store, "2026-12-07")
    letter = dsn(address("ann"), day)
    first = import_bounces(store, MemoryMailbox([Letter("a", letter)]), RULES, FIXED_NOW)
    second = import_bounces(store, MemoryMailbox([Letter("b", letter)]), RULES, FIXED_NOW)
    assert (first.suppressed, second.suppressed, second.repeated) == (1, 0, 1)


def test_soft_bounces_suppress_only_in_a_row(store: Store) -> None:
    days = [sent(store, f"2026-12-0{d}") for d in (1, 2, 3, 4)]

    def soft(name: str, day: str, n: int) -> None:
        letter = dsn(address(name), day, status="4.2.2", ident=f"<s{n}{name}@x>")
        import_bounces(store, MemoryMailbox([Letter(str(n), letter)]), RULES, FIXED_NOW)

    # ann: the last three editions all soft-bounced.
    for n, day in enumerate(days[1:]):
        soft("ann", day, n)
    # bob: two, then an edition that went through, then one more.
    for n, day in enumerate((days[0], days[1], days[3])):
        soft("bob", day, n)
    # cy: the same edition's soft bounce three times counts once.
    for n in range(3):
        soft("cy", days[3], n)
    assert store.subscribers.status(address("ann")) == SubscriberStatus.BOUNCED
    assert store.subscribers.status(address("bob")) == SubscriberStatus.ACTIVE
    assert store.subscribers.status(address("cy")) == SubscriberStatus.ACTIVE


# -- real mailboxes ----------------------------------------------------------------------------


def test_a_maildir_keeps_what_it_cannot_read(store: Store, tmp_path: Path) -> None:
    day = sent(store, "2026-12-07")
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "new" / "1.a").write_bytes(dsn(address("ann"), day))
    (box / "new" / "2.b").write_bytes(b"Subject: hello\r\n\r\nnot a bounce\r\n")
    (box / "cur" / "3.c:2,S").write_bytes(dsn(address("bob"), day))  # read long ago
    summary = import_bounces(store, MaildirMailbox(box), RULES, FIXED_NOW)
    assert summary.letters == 2 and summary.suppressed == 1
    assert store.subscribers.status(address("bob")) == SubscriberStatus.ACTIVE
    assert sorted(os.listdir(box / "new")) == ["2.b"]  # left where it was
    assert sorted(os.listdir(box / "cur")) == ["1.a:2,S", "3.c:2,S"]


def test_the_cli_imports_a_maildir(project: Path, tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "new" / "1").write_bytes(b"Subject: hello\r\n\r\nnot a bounce\r\n")
    done = subprocess.run(
        [*DIGEST, "bounces", "import", "--maildir", str(box), "--config", str(project)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 letters: 0 hard bounces" in done.stdout and "left unread: new/1" in done.stdout
    missing = subprocess.run(
        [*DIGEST, "bounces", "import", "--maildir", str(tmp_path / "n"), "--config", str(project)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200"},
        timeout=120,
    )
    assert missing.returncode == 2 and "is not a Maildir" in missing.stderr


DOVECOT_CONF = """protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
  }}
}}
"""


@pytest.fixture
def dovecot() -> Iterator[tuple[int, Path]]:
    """Debian's dovecot on a free port, TLS only, one user: (port, CA file). CI installs
    it (.ci/run); without it (or root, which it needs to switch users) this is skipped."""
    binary = shutil.which("dovecot")
    if binary is None or os.geteuid() != 0:
        pytest.skip("no dovecot (install dovecot-imapd; CI does) or not root")
    import pwd
    import socket

    pwd.getpwnam("dovecot")
    root = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))  # not under pytest's 0700 dir
    os.chmod(root, 0o755)
    cert, key = make_certificate(root)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    shutil.chown(root / "mail", "dovecot", "dovecot")
    (root / "passwd").write_text("bounces:{PLAIN}mailbox-pass\n")
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, cert=cert, key=key, port=port))
    process = subprocess.Popen([binary, "-F", "-c", str(conf)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, cert
    finally:
        process.terminate()
        process.wait(timeout=30)
        if os.environ.get("KEEP_DOVECOT") is None:
            shutil.rmtree(root, ignore_errors=True)


def _imap_settings(port: int, cert: Path, password: str = "mailbox-pass") -> BouncesSettings:
    return BouncesSettings(
        imap_url=f"imaps://bounces@127.0.0.1:{port}/INBOX",
        password=SecretStr(password),
        ca_file=cert,
        timeout_seconds=10,
    )


def test_an_imap_mailbox_marks_read_only_what_it_applied(
    store: Store, dovecot: tuple[int, Path]
) -> None:
    port, cert = dovecot
    day = sent(store, "2026-12-07")
    client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=_context(cert))
    client.login("bounces", "mailbox-pass")
    for letter in (dsn(address("ann"), day), arf(address("bob"), day), b"Subject: hi\r\n\r\nx\r\n"):
        client.append("INBOX", None, None, letter)
    box = ImapMailbox(_imap_settings(port, cert))
    try:
        summary = import_bounces(store, box, RULES, FIXED_NOW + timedelta(minutes=1))
    finally:
        box.close()
    assert summary.letters == 3 and summary.suppressed == 2 and len(summary.left) == 1
    client.select("INBOX")
    _, unseen = client.uid("SEARCH", "UNSEEN")
    _, everything = client.uid("SEARCH", "ALL")
    assert len(everything[0].split()) == 3  # nothing deleted
    assert len(unseen[0].split()) == 1  # the letter it could not read
    client.logout()
    assert store.subscribers.status(address("bob")) == SubscriberStatus.COMPLAINED


def test_a_refused_imap_login_is_one_line(dovecot: tuple[int, Path]) -> None:
    port, cert = dovecot
    with pytest.raises(MailboxError, match="refused the login of bounces") as raised:
        ImapMailbox(_imap_settings(port, cert, password="wrong"))
    assert "\n" not in str(raised.value)


def _context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_the_scheduler_job_reads_the_configured_mailbox(project: Path, tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    project.write_text(project.read_text() + f'\n[bounces]\nmaildir = "{box}"\n')
    c = make_components(project)
    try:
        c.store.subscribers.upsert([Subscriber(address("ann"), "Ann")], FIXED_NOW)
        day = sent(c.store, "2026-12-07")
        (box / "new" / "1").write_bytes(dsn(address("ann"), day, verp=False))
        Runner(c).bounces()
        assert c.store.subscribers.status(address("ann")) == SubscriberStatus.BOUNCED
        assert os.listdir(box / "cur") == ["1:2,S"]
    finally:
        c.close()
