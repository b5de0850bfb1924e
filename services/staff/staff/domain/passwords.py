"""Passwords: argon2id hashes (argon2-cffi), never the password itself; the length rule of API.md."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12  # API.md; the request schemas enforce it (and the document says it)
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters

# A hash of nothing anyone knows: checked against when the e-mail is unknown, so a wrong e-mail
# takes as long as a wrong password and the answer's timing says nothing either.
_DECOY = _HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
