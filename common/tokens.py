"""Link tokens: an HMAC of a value under a salt (the project's SECRET_KEY behind it), so a
link names what it opens without being guessable, and changing the value (a new key on
the row) revokes every earlier link. One length for all of them: links already sent in
mail keep working as long as this stays as it is."""

from __future__ import annotations

from django.utils.crypto import constant_time_compare, salted_hmac

TOKEN_LENGTH = 40  # hex characters of the SHA-256 HMAC


def sign(salt: str, value: str) -> str:
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()[:TOKEN_LENGTH]


def matches(salt: str, value: str, token: str) -> bool:
    """Whether `token` is `sign(salt, value)`, compared in constant time."""
    return constant_time_compare(sign(salt, value), token)
