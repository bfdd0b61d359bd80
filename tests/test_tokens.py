"""Signed tokens: only the right key and purpose get the value back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.tokens import sign, verify

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
EMAIL = "ana.lopez@mail.example"


@pytest.mark.parametrize("value", [EMAIL, "josé@correo.example", "", "a.b.c@d.example"])
def test_round_trip(value: str) -> None:
    token = sign(KEY, "unsubscribe", value)
    assert verify(KEY, "unsubscribe", token) == value


def test_token_is_url_safe() -> None:
    token = sign(KEY, "unsubscribe", "ana+news@mail.example?x=1&y=2")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_signing_is_deterministic() -> None:
    assert sign(KEY, "unsubscribe", EMAIL) == sign(KEY, "unsubscribe", EMAIL)


def test_wrong_key() -> None:
    token = sign(KEY, "unsubscribe", EMAIL)
    assert verify(OTHER_KEY, "unsubscribe", token) is None


def test_wrong_purpose() -> None:
    token = sign(KEY, "unsubscribe", EMAIL)
    assert verify(KEY, "preferences", token) is None


def test_token_for_one_address_does_not_verify_another() -> None:
    ana = sign(KEY, "unsubscribe", EMAIL)
    ben = sign(KEY, "unsubscribe", "ben@mail.example")
    ana_value, _, ana_mac = ana.partition(".")
    ben_value, _, _ = ben.partition(".")
    # Ben's address with Ana's signature.
    assert verify(KEY, "unsubscribe", f"{ben_value}.{ana_mac}") is None
    assert verify(KEY, "unsubscribe", f"{ana_value}.{ana_mac}") == EMAIL


def _flip(char: str) -> str:
    return "A" if char != "A" else "B"


@pytest.mark.parametrize("where", ["value-start", "value-end", "mac-start", "mac-end"])
def test_tampered_token(where: str) -> None:
    token = sign(KEY, "unsubscribe", EMAIL)
    dot = token.index(".")
    index = {"value-start": 0, "value-end": dot - 1, "mac-start": dot + 1, "mac-end": -1}[where]
    chars = list(token)
    chars[index] = _flip(chars[index])
    tampered = "".join(chars)
    assert tampered != token
    assert verify(KEY, "unsubscribe", tampered) is None


def test_truncated_or_extended_token() -> None:
    token = sign(KEY, "unsubscribe", EMAIL)
    assert verify(KEY, "unsubscribe", token[:-1]) is None
    assert verify(KEY, "unsubscribe", token + "A") is None
    assert verify(KEY, "unsubscribe", token.replace(".", "")) is None


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "garbage", "!!!", "a.b.c", "====.====", "\x00", "%%%.%%%", "é"],
)
def test_garbage_token(garbage: str) -> None:
    assert verify(KEY, "unsubscribe", garbage) is None


def test_garbage_token_with_non_ascii_signature() -> None:
    # "YQ" decodes to "a", so the comparison is reached with a non-ASCII string.
    assert verify(KEY, "unsubscribe", "YQ.é") is None


# --- expiring tokens ------------------------------------------------------------------

ISSUED = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
EXPIRES = ISSUED + timedelta(hours=48)


def test_expiring_token_verifies_until_its_expiry() -> None:
    token = sign(KEY, "signup", EMAIL, expires=EXPIRES)

    assert verify(KEY, "signup", token, now=ISSUED) == EMAIL
    assert verify(KEY, "signup", token, now=EXPIRES - timedelta(seconds=1)) == EMAIL
    assert verify(KEY, "signup", token, now=EXPIRES) is None
    assert verify(KEY, "signup", token, now=EXPIRES + timedelta(days=30)) is None


def test_expiring_token_is_url_safe_and_carries_the_expiry() -> None:
    token = sign(KEY, "signup", "ana+news@mail.example?x=1", expires=EXPIRES)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert token.split(".")[1] == str(int(EXPIRES.timestamp()))


def test_moving_the_expiry_breaks_the_token() -> None:
    value, stamp, mac = sign(KEY, "signup", EMAIL, expires=EXPIRES).split(".")
    later = str(int(stamp) + 86400)
    assert verify(KEY, "signup", f"{value}.{later}.{mac}", now=EXPIRES) is None
    assert verify(KEY, "signup", f"{value}.{later}.{mac}", now=ISSUED) is None


def test_expiring_and_plain_tokens_never_stand_in_for_each_other() -> None:
    plain = sign(KEY, "signup", EMAIL)
    expiring = sign(KEY, "signup", EMAIL, expires=EXPIRES)

    assert verify(KEY, "signup", plain, now=ISSUED) is None  # a purpose that must expire
    assert verify(KEY, "signup", expiring) is None  # a purpose that never expires


def test_expiring_token_wrong_key_or_purpose() -> None:
    token = sign(KEY, "signup", EMAIL, expires=EXPIRES)
    assert verify(OTHER_KEY, "signup", token, now=ISSUED) is None
    assert verify(KEY, "preferences", token, now=ISSUED) is None


@pytest.mark.parametrize(
    "garbage", ["", "..", "a.b.c", "YQ.99999999999999.x", "YQ.-1.x", "YQ.1e9.x"]
)
def test_garbage_expiring_token(garbage: str) -> None:
    assert verify(KEY, "signup", garbage, now=ISSUED) is None


def test_naive_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(KEY, "signup", EMAIL, expires=datetime(2026, 1, 1))
