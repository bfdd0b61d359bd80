"""The subscriber CSV: validation names the file and the line; any bad line fails the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.audience.csv_list import load_subscribers
from digest.errors import ConfigError
from digest.models import Subscriber

REPO = Path(__file__).resolve().parent.parent
HEADER = "email,name,timezone,topics\n"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_subscribers(path)
    assert info.value.exit_code == 2
    message = str(info.value)
    assert str(path) in message
    return message


def test_good_csv(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "ana@mail.example,Ana López,Europe/Madrid,\n"
        + "ben@mail.example, Ben Okafor ,Europe/London,Business;Technology\n"
        + "carl@mail.example,,,\n",
    )
    assert load_subscribers(path) == [
        Subscriber("ana@mail.example", "Ana López", "Europe/Madrid", ()),
        Subscriber("ben@mail.example", "Ben Okafor", "Europe/London", ("Business", "Technology")),
        Subscriber("carl@mail.example", "", "UTC", ()),
    ]


def test_shipped_subscribers_load() -> None:
    subscribers = load_subscribers(REPO / "config" / "subscribers.csv")
    assert [s.email for s in subscribers] == [
        "ana.lopez@mail.example",
        "ben.okafor@mail.example",
        "chen.wei@mail.example",
        "dora@mail.example",
    ]
    assert subscribers[3].topics == ("Sport", "Culture")


def test_topics_split_on_semicolons_and_trimmed(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, HEADER + "ana@mail.example,Ana,UTC, Sport ; Science & Health ;;Culture; \n"
    )
    (subscriber,) = load_subscribers(path)
    assert subscriber.topics == ("Sport", "Science & Health", "Culture")


def test_only_the_email_column_is_required(tmp_path: Path) -> None:
    path = _csv(tmp_path, "email\nana@mail.example\n")
    assert load_subscribers(path) == [Subscriber("ana@mail.example")]


def test_header_is_case_and_space_insensitive(tmp_path: Path) -> None:
    path = _csv(tmp_path, " Email , NAME \nana@mail.example,Ana\n")
    assert load_subscribers(path) == [Subscriber("ana@mail.example", "Ana")]


def test_quoted_name_with_a_comma(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + 'ana@mail.example,"López, Ana",Europe/Madrid,\n')
    assert load_subscribers(path)[0].name == "López, Ana"


def test_bad_email_names_the_line(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER + "ana@mail.example,Ana,UTC,\nben@mail.example,Ben,UTC,\nnot-an-address,Bob,UTC,\n",
    )
    message = _error(path)
    assert "line 4:" in message
    assert "'not-an-address' is not a valid email address" in message


def test_empty_email_names_the_line(tmp_path: Path) -> None:
    message = _error(_csv(tmp_path, HEADER + "ana@mail.example,Ana,UTC,\n,Nobody,UTC,\n"))
    assert "line 3:" in message


def test_bad_timezone_names_the_line(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, HEADER + "ana@mail.example,Ana,UTC,\nben@mail.example,Ben,Mars/Olympus,\n"
    )
    message = _error(path)
    assert "line 3:" in message
    assert "'Mars/Olympus' is not an IANA time zone" in message


def test_every_bad_line_is_reported(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER + "bad-one,A,UTC,\nok@mail.example,B,UTC,\nc@mail.example,C,Nowhere/City,\n",
    )
    message = _error(path)
    assert "line 2:" in message
    assert "line 4:" in message
    assert "line 3:" not in message


def test_duplicate_address(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        HEADER
        + "ana@mail.example,Ana,UTC,\nben@mail.example,Ben,UTC,\nana@mail.example,Ana 2,UTC,\n",
    )
    message = _error(path)
    assert "line 4: ana@mail.example already on line 2" in message


def test_duplicate_address_differing_in_case(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "ana@mail.example,Ana,UTC,\nANA@Mail.Example,Ana,UTC,\n")
    message = _error(path)
    assert "line 3:" in message
    assert "already on line 2" in message


def test_missing_email_column(tmp_path: Path) -> None:
    message = _error(_csv(tmp_path, "name,timezone\nAna,UTC\n"))
    assert "'email'" in message


def test_empty_file(tmp_path: Path) -> None:
    message = _error(_csv(tmp_path, ""))
    assert "'email'" in message


def test_unknown_column(tmp_path: Path) -> None:
    message = _error(_csv(tmp_path, "email,phone\nana@mail.example,555\n"))
    assert "unknown column(s) phone" in message


def test_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "nobody.csv")
    assert "cannot read subscribers" in message


def test_csv_with_byte_order_mark(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeff" + HEADER + "ana@mail.example,Ana,UTC,\n")
    assert load_subscribers(path) == [Subscriber("ana@mail.example", "Ana")]


@pytest.mark.parametrize("zone", ["Europe", "America"])
def test_a_time_zone_folder_is_a_bad_time_zone_not_a_crash(tmp_path: Path, zone: str) -> None:
    # ZoneInfo("Europe") raises IsADirectoryError, not ValueError.
    path = _csv(tmp_path, HEADER + f"ana@mail.example,Ana,{zone},\n")
    assert f"'{zone}' is not an IANA time zone" in _error(path)
