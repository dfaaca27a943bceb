"""Pseudonyms for residents: one family for answer-level exports, another for logs.

Both are keyed hashes of the Telegram id. Export pseudonyms are an HMAC-SHA256 under
``PSEUDONYM_KEY`` itself, unchanged since the first export, so researchers can link the exports
they receive. Log pseudonyms use a key derived from ``PSEUDONYM_KEY`` with HKDF (RFC 5869) under a
label of their own, so a log line shares nothing with an export: knowing one never reveals the
other, and a log pseudonym is no longer a prefix of the export pseudonym. Without a key, log
pseudonyms use a random salt drawn once per process (stable within a run, meaningless after).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os

# HKDF's "info": what the derived key is for. Changing it changes every log pseudonym.
LOG_KEY_LABEL = b"finlit/log-pseudonyms/v1"
_PROCESS_SALT = os.urandom(32)


def export_pseudonym(key: bytes, resident_id: int) -> str:
    """A resident's id in answer-level exports: stable under the same key, opaque without it."""
    return hmac.new(key, str(resident_id).encode(), hashlib.sha256).hexdigest()[:16]


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


def log_pseudonym(resident_id: int | None, key: bytes | None = None) -> str:
    """How a resident appears in logs: a short keyed hash, never the Telegram id."""
    if resident_id is None:
        return "-"
    return hmac.new(log_key(key), str(resident_id).encode(), hashlib.sha256).hexdigest()[:10]
