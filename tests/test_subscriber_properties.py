"""Property-based: whatever a subscriber file or a sign-up form holds, the list
either reads (with names that are one printable line, capped, without address
characters, from which a To header can always be built) or is refused with a
ConfigError naming the file; nothing else escapes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from digest.audience.csv_list import read_subscribers
from digest.audience.people import MAX_NAME, clean_name, clean_topics
from digest.delivery.mime import address_problem
from digest.errors import ConfigError
from tests.test_ingestion_properties import PROPERTY

HOSTILE = st.sampled_from(
    [
        "\r\n",
        "\n",
        "\r",
        "\x00",
        "\x07",
        "\x1b[31m",
        "Bcc: v@x.example",
        "<",
        ">",
        "@",
        ",",
        ";",
        ":",
        '"',
        "\\",
        "=?utf-8?b?QmNj?=",
        "\u2028",
        "\u202e",
        "é",
        "名前",
        " ",
        "\t",
    ]
)
NAMES = st.lists(st.one_of(HOSTILE, st.text(max_size=20)), max_size=30).map("".join)


def _clean(name: str) -> bool:
    return (
        len(name) <= MAX_NAME
        and name == " ".join(name.split())
        and all(ch.isprintable() and ch not in '<>@;:"\\' for ch in name)
        and "=?" not in name
    )


@PROPERTY
@given(NAMES)
def test_a_cleaned_name_is_always_safe_in_a_header(raw: str) -> None:
    name = clean_name(raw)
    assert _clean(name)
    assert clean_name(name) == name  # cleaning twice changes nothing
    assert address_problem(name, "ana@mail.example") is None


@PROPERTY
@given(st.lists(st.one_of(HOSTILE, st.text(max_size=30)), max_size=80))
def test_topics_are_one_printable_line_each(raw: list[str]) -> None:
    topics = clean_topics(raw)
    assert len(topics) <= 50 and len(set(topics)) == len(topics)
    assert all(t and t.isprintable() and t == " ".join(t.split()) for t in topics)


ROWS = st.lists(
    st.tuples(
        st.one_of(st.just("ana@mail.example"), st.emails(), NAMES),
        NAMES,
        st.sampled_from(["", "UTC", "Europe/Madrid", "Mars/Base", "\r\n"]),
        NAMES,
    ),
    max_size=12,
)


@PROPERTY
@given(ROWS, st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
def test_any_subscriber_file_reads_or_is_refused_cleanly(
    rows: list[tuple[str, str, str, str]], encoding: str
) -> None:
    import csv
    import io

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["email", "name", "timezone", "topics"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "subscribers.csv"
        try:
            path.write_bytes(text.getvalue().encode(encoding))
        except UnicodeEncodeError:
            return  # latin-1 cannot hold every name: nothing to read
        try:
            people, problems = read_subscribers(path)
        except ConfigError as exc:
            assert "subscribers.csv" in str(exc)
            return
    assert len(people) + len(problems) == len(rows)
    for person in people:
        assert _clean(person.name)
        assert address_problem(person.name, person.email) is None
        assert all(t.isprintable() for t in person.topics)
    assert all(problem.startswith("line ") for problem in problems)
