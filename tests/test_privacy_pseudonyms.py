"""Pseudonyms: exports stable under PSEUDONYM_KEY; logs under a key of their own."""

from __future__ import annotations

import hashlib
import hmac

from bot.pseudonyms import (
    LOG_KEY_LABEL,
    export_pseudonym,
    hkdf_sha256,
    log_key,
    log_pseudonym,
)


def test_export_pseudonyms_are_unchanged_so_old_exports_still_link() -> None:
    # The value every earlier export gave resident 12345 under this key.
    assert export_pseudonym(b"research-key", 12345) == "45bf49782e1ab97f"
    assert (
        export_pseudonym(b"research-key", 12345)
        == (hmac.new(b"research-key", b"12345", hashlib.sha256).hexdigest()[:16])
    )


def test_a_log_pseudonym_reveals_nothing_about_the_export_pseudonym() -> None:
    key = b"research-key"
    for resident_id in (1, 12345, 2**52):
        logged, exported = log_pseudonym(resident_id, key), export_pseudonym(key, resident_id)
        assert len(logged) == 10
        # Once, the log pseudonym was the export pseudonym's first ten characters.
        assert not exported.startswith(logged)
        assert logged == log_pseudonym(resident_id, key)  # stable under the same key
    assert log_key(key) != key
    assert log_key(key) == hkdf_sha256(key, info=LOG_KEY_LABEL)
    assert log_pseudonym(None, key) == "-"


def test_without_a_key_log_pseudonyms_use_a_random_salt_for_this_process() -> None:
    assert log_pseudonym(7) == log_pseudonym(7) != log_pseudonym(8)
    assert log_pseudonym(7) != hmac.new(b"", b"7", hashlib.sha256).hexdigest()[:10]
    assert log_key(None) != log_key(b"")


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
