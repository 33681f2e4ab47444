"""Password hashing (argon2id through argon2-cffi, the reference binding) and the password rule."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gridgov.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106's low-memory profile: 3 passes, 64 MiB, 4 lanes)."""
    return PasswordHasher()


def check_rule(password: str, username: str = "") -> None:
    """``InvalidInput`` unless the password is 8–128 characters, has letters and digits, and is not the user name."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"密码长度应为 {MIN_LENGTH}–{MAX_LENGTH} 个字符")
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        raise InvalidInput("密码须同时包含字母和数字")
    if username and username.lower() in password.lower():
        raise InvalidInput("密码不能包含用户名")


def hash_password(password: str) -> str:
    """The argon2id hash (salted, parameters included) to store."""
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (a malformed hash never matches)."""
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (re-hash it at the next login)."""
    try:
        return _hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


# Verified when the user name is unknown, so a wrong name costs as long as a wrong password.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$0dSeNr2Xv5qzZ8h9bBVYTXP3c8ByzXbvqt6A5NbXk1c"
