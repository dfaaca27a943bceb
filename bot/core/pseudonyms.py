"""Pseudonyms for residents: one family for answer-level exports, another for logs.

Both are keyed hashes of the Telegram id. Export pseudonyms are an HMAC-SHA256 under
``PSEUDONYM_KEY`` itself, unchanged since the first export, so researchers can link the exports
they receive. Log pseudonyms use a key derived from ``PSEUDONYM_KEY`` with HKDF (RFC 5869) under a
label of their own, so a log line shares nothing with an export: knowing one never reveals the
other, and a log pseudonym is no longer a prefix of the export pseudonym. Without a key, log
pseudonyms use a random salt drawn once per process (stable within a run, meaningless after).

``pseudonym`` is the one way to make either; its arguments are keyword-only, so a resident's id
and a key can never be passed in each other's place.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import os

# HKDF's "info": what the derived key is for. Changing it changes every log pseudonym.
LOG_KEY_LABEL = b"finlit/log-pseudonyms/v1"
_PROCESS_SALT = os.urandom(32)


class Family(enum.Enum):
    """Where a pseudonym appears: the two families never share a value."""

    EXPORT = "export"  # answer-level exports: 16 hex digits under PSEUDONYM_KEY itself
    LOG = "log"  # log lines: 10 hex digits under a key derived for logs alone


EXPORT = Family.EXPORT
LOG = Family.LOG


def pseudonym(*, resident_id: int | None, key: bytes | None, family: Family) -> str:
    """How a resident appears in an export or a log: a keyed hash, never the Telegram id.

    No resident (an update without a sender) is "-". An export pseudonym needs the key: one
    under this process's random salt would link to nothing.
    """
    if resident_id is None:
        return "-"
    message = str(resident_id).encode()
    if family is Family.EXPORT:
        if key is None:
            raise ValueError("export pseudonyms need PSEUDONYM_KEY")
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]
    return hmac.new(log_key(key), message, hashlib.sha256).hexdigest()[:10]


def hkdf_sha256(key: bytes, *, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, then expand under ``info``."""
    prk = hmac.new(salt or bytes(32), key, hashlib.sha256).digest()
    out, block = b"", b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


@functools.lru_cache(maxsize=8)
def log_key(key: bytes | None) -> bytes:
    """The key for log pseudonyms: derived from PSEUDONYM_KEY, or this process's random salt."""
    return _PROCESS_SALT if key is None else hkdf_sha256(key, info=LOG_KEY_LABEL)
