"""Passwords, project API keys, HMAC keys and the dashboard's CSRF tokens.

API keys are 160-bit random tokens with a recognisable prefix (``tf_<env>_``) so a leaked key can
be found by secret scanners; only their SHA-256 is stored (a fast hash is right for a
high-entropy token, and lets a lookup be one indexed query). Passwords use Argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "tf_key_"
# Edge Impulse's Node tools (the Linux daemon, the data forwarder) refuse API keys that do not start
# with "ei_"; they may be given "ei_" + a Tinyforge key, which names the same key.
EI_KEY_ALIAS = "ei_"
CSRF_SESSION_KEY = "csrf"  # where the dashboard session keeps its token
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_hex(20)


def hash_api_key(key: str) -> str:
    if key.startswith(EI_KEY_ALIAS + API_KEY_PREFIX):
        key = key[len(EI_KEY_ALIAS) :]
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """What lists show of a key: enough to recognise it, too little to use it."""
    return key[: len(API_KEY_PREFIX) + 6]


def new_hmac_key() -> str:
    return secrets.token_hex(16)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: object, sent: object) -> bool:
    """The synchroniser-token check: the session holds a token and the request sent that same
    token."""
    return bool(expected) and bool(sent) and hmac.compare_digest(str(expected), str(sent))
