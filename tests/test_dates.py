"""Feed dates in other languages and shapes (``digest.sources.dates``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from digest.sources.dates import fold, names_unknown_zone, parse_date


def at(*parts: int, hours: float = 0) -> datetime:
    return datetime(*parts, tzinfo=timezone(timedelta(hours=hours))).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Portuguese, Spanish, French, German, Italian RFC 822
        ("Seg, 24 Set 2018 19:42:40 -0300", at(2018, 9, 24, 19, 42, 40, hours=-3)),
        ("Sex, 10 Out 2025 11:00:00 -0300", at(2025, 10, 10, 11, 0, 0, hours=-3)),
        ("Qua, 02 Dez 2026 08:00:00 -0300", at(2026, 12, 2, 8, 0, 0, hours=-3)),
        ("Sáb, 05 Fev 22 10:00:00 GMT", at(2022, 2, 5, 10, 0, 0)),
        ("Lun, 24 Sep 2018 19:42:40 +0200", at(2018, 9, 24, 19, 42, 40, hours=2)),
        ("Mié, 02 Dic 2026 08:00:00 +0100", at(2026, 12, 2, 8, 0, 0, hours=1)),
        ("Mar, 25 Sep 2018 08:10:00 +0200", at(2018, 9, 25, 8, 10, 0, hours=2)),
        ("lun., 24 sept. 2018 19:42:40 +0200", at(2018, 9, 24, 19, 42, 40, hours=2)),
        ("mer., 2 déc. 2026 08:00:00 +0100", at(2026, 12, 2, 8, 0, 0, hours=1)),
        ("jeu., 3 févr. 2022", at(2022, 2, 3)),
        ("mar., 1 juil. 2025 12:00:00 +0200", at(2025, 7, 1, 12, 0, 0, hours=2)),
        ("dim., 1 juin 2025 12:00:00 +0200", at(2025, 6, 1, 12, 0, 0, hours=2)),
        ("Mo, 24 Sep 2018 19:42:40 +0200", at(2018, 9, 24, 19, 42, 40, hours=2)),
        ("Do, 13 Mär 2025 07:30:00 +0100", at(2025, 3, 13, 7, 30, 0, hours=1)),
        ("Di., 7. Okt. 2025 09:15", at(2025, 10, 7, 9, 15)),
        ("Montag, 24. September 2018", at(2018, 9, 24)),
        ("gio, 15 mag 25 18:00:00 +0200", at(2025, 5, 15, 18, 0, 0, hours=2)),
        # long forms, numeric day-first dates, ISO without a zone
        ("segunda-feira, 24 de setembro de 2018 19:42", at(2018, 9, 24, 19, 42)),
        ("le 7 juin 2018 à 10h30", at(2018, 6, 7, 10, 30)),
        ("24.09.2018 19:42", at(2018, 9, 24, 19, 42)),
        ("2018-09-24 19:42:40", at(2018, 9, 24, 19, 42, 40)),
        # English shapes feedparser misses or misreads
        ("Sun, 07 Oct 2018 10:00", at(2018, 10, 7, 10, 0)),
        ("Sun, 07 Oct 2018 10:00:00 CEST", at(2018, 10, 7, 10, 0, 0, hours=2)),
        ("Mon, 24 Sep 2018 19:42:40 BRT", at(2018, 9, 24, 19, 42, 40, hours=-3)),
        ("Mon, 24 Sep 2018 7:05 pm EST", at(2018, 9, 24, 19, 5, hours=-5)),
        ("Mar 25, 2018", at(2018, 3, 25)),
        ("Wed, 02 Dec 2026 08:00:00 +0000", at(2026, 12, 2, 8, 0, 0)),
    ],
)
def test_dates_in_other_languages_and_shapes(text: str, expected: datetime) -> None:
    found = parse_date(text)
    assert found == expected and found.tzinfo is UTC


@pytest.mark.parametrize(
    ("year", "full"), [("18", 2018), ("68", 2068), ("69", 1969), ("99", 1999), ("00", 2000)]
)
def test_two_digit_years_follow_email_utils(year: str, full: int) -> None:
    assert parse_date(f"Seg, 24 Set {year} 10:00:00 -0300") == at(full, 9, 24, 10, hours=-3)


def test_a_missing_or_unknown_zone_is_utc() -> None:
    assert parse_date("Seg, 24 Set 2018 19:42:40") == at(2018, 9, 24, 19, 42, 40)
    assert parse_date("Seg, 24 Set 2018 19:42:40 XYZT") == at(2018, 9, 24, 19, 42, 40)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "24 Set",  # no year
        "Set 2018",  # no day
        "garbage 24 Sep 2018",  # a word no date has
        "Thu, 31 Feb 2018 10:00:00 +0000",  # no such day
        "24 Sep 2018 25:00",  # no such hour
        "Seg, 24 Set 2018 10:00:00 +9900",  # an offset past a day
        "01 Jan 0001 00:00:00 +0500",  # before year 1 in UTC
        "24 Sep 2018 " + "x" * 300,  # too long to be a date
    ],
)
def test_what_is_no_date_is_none(text: str) -> None:
    assert parse_date(text) is None


def test_folding_and_zones_feedparser_misreads() -> None:
    assert fold("Février Mär Août") == "fevrier mar aout"
    assert names_unknown_zone("Sun, 07 Oct 2018 10:00:00 CEST")
    assert not names_unknown_zone("Sun, 07 Oct 2018 10:00:00 GMT")
    assert not names_unknown_zone("Sun, 07 Oct 2018 10:00:00 +0200")
