"""Signed tokens: only the right key and purpose get the value back."""

from __future__ import annotations

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
