"""Reading other tools' subscriber exports: the format recognised from the header,
each tool's status values mapped row by row, names, time zones and topics carried
over, and a file of no known shape refused with the columns it has.

The files in tests/data/exports/ are written from each tool's documented columns
(see the README there); every status value a tool uses appears in its file.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.audience import statuses
from digest.audience.imports import ImportFile, read_import
from digest.errors import ConfigError
from digest.models import SubscriberStatus as S

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
SECTIONS = ["World", "Politics", "Business", "Technology", "Science & Health", "Sport", "Culture"]

EXPECTED: dict[str, tuple[str, dict[str, S]]] = {
    "subscribed_members_export_5f1e2d.csv": (
        "Mailchimp subscribed members export",
        {
            "ana.mc@mail.example": S.ACTIVE,
            "ben.mc@mail.example": S.ACTIVE,
            "cleo.mc@mail.example": S.ACTIVE,
        },
    ),
    "unsubscribed_members_export_5f1e2d.csv": (
        "Mailchimp unsubscribed members export",
        {"dan.mc@mail.example": S.UNSUBSCRIBED, "eve.mc@mail.example": S.UNSUBSCRIBED},
    ),
    "cleaned_members_export_5f1e2d.csv": (
        "Mailchimp cleaned members export",
        {"fay.mc@mail.example": S.BOUNCED},
    ),
    "nonsubscribed_members_export_5f1e2d.csv": (
        "Mailchimp nonsubscribed members export",
        {"gus.mc@mail.example": S.UNSUBSCRIBED},
    ),
    "members.2024-06-30.csv": (
        "Ghost members export",
        {
            "hana.gh@mail.example": S.ACTIVE,
            "ivan.gh@mail.example": S.UNSUBSCRIBED,  # subscribed_to_emails=false
            "jo.gh@mail.example": S.ACTIVE,
            "kim.gh@mail.example": S.UNSUBSCRIBED,  # deleted_at set
        },
    ),
    "subscribers.csv": (
        "listmonk subscribers export",
        {
            "lea.lm@mail.example": S.PENDING,  # enabled: no evidence of a confirmed opt-in
            "max.lm@mail.example": S.UNSUBSCRIBED,
            "nia.lm@mail.example": S.BLOCKLISTED,
        },
    ),
    "email_list.northside.csv": (
        "Substack subscriber export",
        {
            "omar.ss@mail.example": S.ACTIVE,
            "pia.ss@mail.example": S.ACTIVE,
            "quin.ss@mail.example": S.UNSUBSCRIBED,  # email_disabled=true
        },
    ),
    "buttondown-subscribers.csv": (
        "Buttondown subscriber export",
        {
            "regular.bd@mail.example": S.ACTIVE,
            "premium.bd@mail.example": S.ACTIVE,
            "trialed.bd@mail.example": S.ACTIVE,
            "gifted.bd@mail.example": S.ACTIVE,
            "churning.bd@mail.example": S.ACTIVE,
            "past-due.bd@mail.example": S.ACTIVE,
            "upcoming.bd@mail.example": S.ACTIVE,
            "churned.bd@mail.example": S.ACTIVE,
            "unpaid.bd@mail.example": S.ACTIVE,
            "paused.bd@mail.example": S.PAUSED,
            "unactivated.bd@mail.example": S.PENDING,
            "unsubscribed.bd@mail.example": S.UNSUBSCRIBED,
            "removed.bd@mail.example": S.BLOCKLISTED,
            "blocked.bd@mail.example": S.BLOCKLISTED,
            "undeliverable.bd@mail.example": S.BOUNCED,
            "complained.bd@mail.example": S.COMPLAINED,
            "spammy.bd@mail.example": S.BLOCKLISTED,
        },
    ),
    "beehiiv-subscribers.csv": (
        "beehiiv subscriber export",
        {
            "rosa.bh@mail.example": S.ACTIVE,
            "sam.bh@mail.example": S.ACTIVE,
            "tara.bh@mail.example": S.UNSUBSCRIBED,  # inactive
            "uma.bh@mail.example": S.PENDING,
            "vic.bh@mail.example": S.PENDING,  # validating
            "wen.bh@mail.example": S.PENDING,  # needs_attention
            "xan.bh@mail.example": S.BOUNCED,  # invalid
            "yara.bh@mail.example": S.UNSUBSCRIBED,  # active, but unsubscribed_at set
        },
    ),
}


def _read(path: Path, format_name: str | None = None) -> ImportFile:
    return read_import(path, SECTIONS, format_name)


def _by_email(read: ImportFile) -> dict[str, S]:
    return {r.email: r.status for r in read.records}


def _refused(path: Path, format_name: str | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        _read(path, format_name)
    assert info.value.exit_code == 2 and str(path) in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_is_recognised_and_mapped_row_by_row(name: str) -> None:
    label, expected = EXPECTED[name]
    read = _read(EXPORTS / name)
    assert read.label == label
    assert _by_email(read) == expected
    assert read.rows == len(expected) + len(read.problems)


def test_every_status_value_of_the_fixtures_is_covered() -> None:
    buttondown = EXPECTED["buttondown-subscribers.csv"][1]
    assert {e.split(".bd@")[0].replace("-", "_") for e in buttondown} == set(statuses.BUTTONDOWN)
    beehiiv = (EXPORTS / "beehiiv-subscribers.csv").read_text(encoding="utf-8")
    assert all(f",{value}," in beehiiv for value in statuses.BEEHIIV)
    listmonk = (EXPORTS / "subscribers.csv").read_text(encoding="utf-8")
    assert all(f",{value}," in listmonk for value in statuses.LISTMONK)


def test_mailchimp_names_time_zones_and_tags_come_along() -> None:
    read = _read(EXPORTS / "subscribed_members_export_5f1e2d.csv")
    ana, ben, cleo = read.records
    assert (ana.name, ana.timezone, ana.topics) == ("Ana López", "Europe/Madrid", ("Sport",))
    # Any case of an IANA name; a tag that names no section is no topic.
    assert (ben.name, ben.timezone, ben.topics) == ("Ben", "America/Chicago", None)
    # Nothing given: nothing said (what is known about the address stays).
    assert (cleo.name, cleo.timezone, cleo.topics) == (None, None, None)
    assert ana.reason == "Mailchimp: subscribed members export"


def test_ghost_labels_become_topics_and_unused_columns_are_noted() -> None:
    read = _read(EXPORTS / "members.2024-06-30.csv")
    hana, ivan, jo, _ = read.records
    assert (hana.name, hana.topics) == ("Hana Sato", ("Sport", "Culture"))
    assert ivan.topics == ("Politics",) and ivan.reason == "Ghost: subscribed_to_emails=false"
    assert jo.name == "=Jo"  # the export's formula guard (a leading ') taken off
    assert read.ignored == (
        "id",
        "note",
        "complimentary_plan",
        "stripe_customer_id",
        "created_at",
        "tiers",
    )


def test_buttondown_tags_and_beehiiv_names() -> None:
    buttondown = {r.email: r for r in _read(EXPORTS / "buttondown-subscribers.csv").records}
    assert buttondown["regular.bd@mail.example"].topics == ("Sport",)  # "sport;nyc"
    assert buttondown["unactivated.bd@mail.example"].topics == ("Culture",)
    beehiiv = {r.email: r for r in _read(EXPORTS / "beehiiv-subscribers.csv").records}
    assert beehiiv["rosa.bh@mail.example"].name == "Rosa Diaz"
    assert beehiiv["tara.bh@mail.example"].name is None


def test_each_exports_unsubscribe_date_is_carried_over() -> None:
    def left(name: str) -> dict[str, datetime | None]:
        return {r.email: r.unsubscribed_at for r in _read(EXPORTS / name).records}

    assert left("unsubscribed_members_export_5f1e2d.csv")["dan.mc@mail.example"] == datetime(
        2023, 6, 6, 12, 56, 15, tzinfo=UTC
    )
    assert left("members.2024-06-30.csv")["kim.gh@mail.example"] == datetime(2024, 6, 1, tzinfo=UTC)
    assert left("members.2024-06-30.csv")["hana.gh@mail.example"] is None
    assert left("beehiiv-subscribers.csv")["yara.bh@mail.example"] == datetime(
        2024, 3, 13, 11, 33, 53, tzinfo=UTC
    )
    assert left("buttondown-subscribers.csv")["unsubscribed.bd@mail.example"] == datetime(
        2024, 4, 8, 17, 9, 32, 596959, tzinfo=UTC
    )


def test_buttondowns_unsubscription_date_unsubscribes_whatever_the_type(tmp_path: Path) -> None:
    # As beehiiv's unsubscribed_at; a stronger stop (undeliverable ...) stands.
    path = tmp_path / "buttondown.csv"
    path.write_text(
        "email,subscriber_type,unsubscription_date,tags\n"
        "left.bd@mail.example,regular,2024-05-01 08:00:00+00:00,\n"
        "stays.bd@mail.example,premium,,\n"
        "bounced.bd@mail.example,undeliverable,2024-05-02 08:00:00+00:00,\n"
        "odd.bd@mail.example,regular,someday,\n",
        encoding="utf-8",
    )
    read = _read(path)
    assert read.label == "Buttondown subscriber export" and read.ignored == ()
    got = {r.email.split(".")[0]: (r.status, r.reason, r.unsubscribed_at) for r in read.records}
    assert got == {
        "left": (
            S.UNSUBSCRIBED,
            "Buttondown: unsubscription_date set",
            datetime(2024, 5, 1, 8, tzinfo=UTC),
        ),
        "stays": (S.ACTIVE, "Buttondown: subscriber_type=premium", None),
        "bounced": (
            S.BOUNCED,
            "Buttondown: subscriber_type=undeliverable",
            datetime(2024, 5, 2, 8, tzinfo=UTC),
        ),
        # A date that cannot be read still says the address left; it gives no time.
        "odd": (S.UNSUBSCRIBED, "Buttondown: unsubscription_date set", None),
    }


def test_a_substack_deletion_placeholder_is_reported_not_imported() -> None:
    read = _read(EXPORTS / "email_list.northside.csv")
    assert read.problems == ("line 5: a Substack deletion-request placeholder, not an address",)


@pytest.mark.parametrize(
    ("header", "row", "label"),
    [
        ('"Email Address","First Name","TIMEZONE"', "a@mail.example,A,UTC", "Mailchimp"),
        ("email,subscribed_to_emails", "a@mail.example,true", "Ghost"),
        ("uuid,email,status", "u1,a@mail.example,disabled", "listmonk"),
        ("email,email_disabled", "a@mail.example,false", "Substack"),
        (  # Substack's older header, and its paid subscribers' file
            "email,active_subscription,expiry,email_disabled,prefer_digests,created_at",
            "a@mail.example,false,,false,false,2018-08-27T15:06:27.713Z",
            "Substack",
        ),
        (
            "email,expiry,email_disabled,prefer_digests,stripe_connected_customer_id,type",
            "a@mail.example,,false,false,cus_1,paid",
            "Substack",
        ),
        ("email,subscriber_type", "a@mail.example,regular", "Buttondown"),
        ("email,status,tier", "a@mail.example,active,free", "beehiiv"),
    ],
)
def test_an_export_with_only_some_of_its_columns_is_recognised(
    tmp_path: Path, header: str, row: str, label: str
) -> None:
    path = tmp_path / "subscribed_members_export_1.csv"  # the name only Mailchimp reads
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    read = _read(path)
    assert read.label.startswith(label)
    assert len(read.records) == 1 and not read.problems


def test_a_byte_order_mark_and_crlf_are_fine(tmp_path: Path) -> None:
    text = (EXPORTS / "members.2024-06-30.csv").read_text(encoding="utf-8")
    path = tmp_path / "members.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert _by_email(_read(path)) == EXPECTED["members.2024-06-30.csv"][1]


def test_an_export_not_in_utf8_is_one_line_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes(
        "email,subscribed_to_emails,name\na@x.example,true,Mu\xf1oz\n".encode("latin-1")
    )
    assert "line 2: not UTF-8 (byte 0xf1)" in _refused(path)


# -- what is not guessed ------------------------------------------------------------------


def test_a_mailchimp_file_that_does_not_say_which_members_it_holds_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audience.csv"
    shutil.copy(EXPORTS / "subscribed_members_export_5f1e2d.csv", path)
    message = _refused(path)
    assert "does not say which members it holds" in message
    assert "--format mailchimp-subscribed" in message
    # The operator says so: then they are active.
    read = _read(path, "mailchimp-subscribed")
    assert set(_by_email(read).values()) == {S.ACTIVE}
    assert set(_by_email(_read(path, "mailchimp-nonsubscribed")).values()) == {S.UNSUBSCRIBED}


def test_the_strictest_evidence_wins_for_mailchimp(tmp_path: Path) -> None:
    # Renamed "subscribed_…" (or forced so), but its columns say unsubscribed.
    path = tmp_path / "subscribed_members_export_x.csv"
    shutil.copy(EXPORTS / "unsubscribed_members_export_5f1e2d.csv", path)
    assert set(_by_email(_read(path)).values()) == {S.UNSUBSCRIBED}
    assert set(_by_email(_read(path, "mailchimp-subscribed")).values()) == {S.UNSUBSCRIBED}
    cleaned = tmp_path / "subscribed_members_export_y.csv"
    shutil.copy(EXPORTS / "cleaned_members_export_5f1e2d.csv", cleaned)
    assert set(_by_email(_read(cleaned)).values()) == {S.BOUNCED}


def test_listmonk_enabled_is_active_only_when_the_operator_says_so() -> None:
    read = _read(EXPORTS / "subscribers.csv", "listmonk-subscribed")
    assert _by_email(read) == {
        "lea.lm@mail.example": S.ACTIVE,
        "max.lm@mail.example": S.UNSUBSCRIBED,
        "nia.lm@mail.example": S.BLOCKLISTED,
    }
    assert "--format listmonk-subscribed" in _read(EXPORTS / "subscribers.csv").format.pending_hint


@pytest.mark.parametrize(
    ("header", "rows", "problem"),
    [
        (
            "email,subscribed_to_emails",
            ["a@mail.example,true", "b@mail.example,maybe", "c@mail.example,false"],
            "line 3: subscribed_to_emails 'maybe' is not one of true, false",
        ),
        (
            "uuid,email,status",
            ["u1,a@mail.example,enabled", "u2,b@mail.example,", "u3,c@mail.example,disabled"],
            "line 3: status '' is not one of enabled, disabled, blocklisted",
        ),
        (
            "email,subscriber_type",
            ["a@mail.example,regular", "b@mail.example,vip", "c@mail.example,complained"],
            "line 3: subscriber_type 'vip' is not one of",
        ),
        (
            "email,status,tier",
            ["a@mail.example,active,free", "not-an-address,active,free", "c@mail.example,x,free"],
            "line 3: 'not-an-address' is not a valid email address",
        ),
    ],
)
def test_a_row_that_cannot_be_mapped_is_reported_and_the_others_imported(
    tmp_path: Path, header: str, rows: list[str], problem: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    read = _read(path)
    assert read.problems[0].startswith(problem)
    assert read.records[0].email == "a@mail.example"
    assert len(read.records) + len(read.problems) == 3


def test_a_repeated_address_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("uuid,email,status\n1,a@mail.example,disabled\n2,A@Mail.example,enabled\n")
    assert _read(path).problems == ("line 3: A@mail.example already on line 2",)


def test_a_file_of_unknown_shape_is_refused_with_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("Contact,Mail,Opted in\nAna,ana@mail.example,yes\n", encoding="utf-8")
    message = _refused(path)
    assert "with 'email' among them" in message
    assert "columns: contact, mail, opted in" in message


def test_unknown_columns_in_our_own_format_are_still_named(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email,phone\nana@mail.example,555\n", encoding="utf-8")
    assert "unknown column(s) phone" in _refused(path)
    assert "unknown column(s) phone" in _refused(path, "digest")


def test_our_own_format_reads_as_it_always_did() -> None:
    read = _read(Path(__file__).resolve().parent.parent / "config" / "subscribers.csv")
    assert read.format.name == "digest" and read.ignored == ()
    dora = read.records[3]
    assert (dora.email, dora.status, dora.name, dora.timezone, dora.topics) == (
        "dora@mail.example",
        S.ACTIVE,
        "",
        "America/New_York",
        ("Sport", "Culture"),
    )


def test_a_forced_format_needs_its_columns_and_a_known_name(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email,name\nana@mail.example,Ana\n", encoding="utf-8")
    assert "lacks the column(s) subscribed_to_emails" in _refused(path, "ghost")
    message = _refused(path, "hubspot")
    assert "unknown format 'hubspot'" in message and "mailchimp-subscribed" in message
