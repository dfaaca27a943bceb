"""QR codes for cohort join links, as PNG bytes for sending as a Telegram photo."""

from __future__ import annotations

import io

import segno


def qr_png(link: str) -> bytes:
    """The link as a QR code big enough to scan from the back of a lecture hall."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=20, border=4)
    return buffer.getvalue()
