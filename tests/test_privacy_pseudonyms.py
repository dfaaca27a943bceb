"""Pseudonyms: exports stable under PSEUDONYM_KEY; logs under a key of their own."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.core.pseudonyms import EXPORT, LOG, LOG_KEY_LABEL, hkdf_sha256, log_key, pseudonym


def test_export_pseudonyms_are_unchanged_so_old_exports_still_link() -> None:
    # The value every earlier export gave resident 12345 under this key.
    exported = pseudonym(resident_id=12345, key=b"research-key", family=EXPORT)
    assert exported == "45bf49782e1ab97f"
    assert exported == hmac.new(b"research-key", b"12345", hashlib.sha256).hexdigest()[:16]


def test_a_log_pseudonym_reveals_nothing_about_the_export_pseudonym() -> None:
    key = b"research-key"
    for resident_id in (1, 12345, 2**52):
        logged = pseudonym(resident_id=resident_id, key=key, family=LOG)
        exported = pseudonym(resident_id=resident_id, key=key, family=EXPORT)
        assert len(logged) == 10
        # Once, the log pseudonym was the export pseudonym's first ten characters.
        assert not exported.startswith(logged)
        # Stable under the same key.
        assert logged == pseudonym(resident_id=resident_id, key=key, family=LOG)
        assert (
            logged == hmac.new(log_key(key), str(resident_id).encode(), "sha256").hexdigest()[:10]
        )
    assert log_key(key) != key
    assert log_key(key) == hkdf_sha256(key, info=LOG_KEY_LABEL)
    assert pseudonym(resident_id=None, key=key, family=LOG) == "-"


def test_without_a_key_log_pseudonyms_use_a_random_salt_for_this_process() -> None:
    def logged(resident_id: int) -> str:
        return pseudonym(resident_id=resident_id, key=None, family=LOG)

    assert logged(7) == logged(7) != logged(8)
    assert logged(7) != hmac.new(b"", b"7", hashlib.sha256).hexdigest()[:10]
    assert log_key(None) != log_key(b"")


def test_an_export_pseudonym_needs_the_key() -> None:
    # Under this process's random salt it would link to nothing, in this export or the next.
    with pytest.raises(ValueError, match="PSEUDONYM_KEY"):
        pseudonym(resident_id=7, key=None, family=EXPORT)


def test_hkdf_matches_rfc_5869() -> None:
    # RFC 5869, appendix A.1 (test case 1) and A.3 (test case 3: no salt, no info).
    okm = hkdf_sha256(
        bytes([0x0B] * 22), salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA)), length=42
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    okm = hkdf_sha256(bytes([0x0B] * 22), info=b"", length=42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )
