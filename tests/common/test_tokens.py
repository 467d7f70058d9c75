"""common.tokens: the one way link tokens are signed and checked."""

from __future__ import annotations

from django.utils.crypto import salted_hmac

from common import tokens


def test_a_token_is_the_first_forty_hex_characters_of_the_salted_sha256_hmac() -> None:
    # The format links already sent in mail were made with: it must not change.
    expected = salted_hmac("salt", "1:key", algorithm="sha256").hexdigest()[:40]
    assert tokens.sign("salt", "1:key") == expected
    assert len(expected) == tokens.TOKEN_LENGTH


def test_a_token_matches_its_own_salt_and_value_only() -> None:
    token = tokens.sign("salt", "1:key")
    assert tokens.matches("salt", "1:key", token)
    assert not tokens.matches("salt", "1:other-key", token)
    assert not tokens.matches("other-salt", "1:key", token)
    assert not tokens.matches("salt", "1:key", token[:-1])
    assert not tokens.matches("salt", "1:key", token + "0")
    assert not tokens.matches("salt", "1:key", "")
