"""Consent that keeps up: the privacy notice's versions and the gate features ask.

The notice is versioned in ``content/privacy.yaml``; each version lists the kinds of processing it
adds. A resident accepts one version (the newest when they first agree). When a later version
adds something, they are asked once, briefly, for just that; until they agree, ``Consent.allows``
says no for it, and a feature must ask before doing it for them::

    if content.privacy.allows(resident.consent_version, "reminders"): ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.i18n import Language, LocalizedText
from bot.core.validation import repeated

PROCESSING_ID = r"^[a-z][a-z0-9_]{1,31}$"

# The kinds of processing the bot asks the gate about; each must be added by a version of the
# notice (the content check says so when one is missing).
LEARNING = "learning"
ANNOUNCEMENTS = "announcements"  # broadcasts: whether a resident wants them, which reached them
TOOLS = "tools"  # spot-the-scam drill answers and the loan calculator's numbers (a day at most)
GATES = (LEARNING, ANNOUNCEMENTS, TOOLS)


class Processing(BaseModel):
    """One kind of processing, said in a line a resident reads when it is new to them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PROCESSING_ID)
    text: LocalizedText


class NoticeVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    date: dt.date  # when it took effect
    adds: list[Processing] = Field(min_length=1, max_length=8)


class PrivacyNotice(BaseModel):
    """Every version of the notice, oldest first (content/privacy.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    versions: list[NoticeVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_and_unique(self) -> PrivacyNotice:
        numbers = [v.version for v in self.versions]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("versions must be numbered 1, 2, 3, … in order")
        dates = [v.date for v in self.versions]
        if dates != sorted(dates):
            raise ValueError("a later version cannot take effect before an earlier one")
        ids = [p.id for v in self.versions for p in v.adds]
        twice = repeated(ids)
        if twice:
            raise ValueError(f"a kind of processing is added only once: {', '.join(twice)}")
        return self

    @property
    def current(self) -> int:
        return self.versions[-1].version

    def introduced_in(self, processing: str) -> int:
        """The version that added ``processing``; asking about an unknown kind is a bug."""
        for version in self.versions:
            if any(p.id == processing for p in version.adds):
                return version.version
        raise KeyError(f"no version of the privacy notice adds {processing!r}")

    def allows(self, accepted: int | None, processing: str) -> bool:
        """The gate: may ``processing`` be done for a resident who accepted version ``accepted``
        (None: never consented)?"""
        required = self.introduced_in(processing)
        return accepted is not None and accepted >= required

    def added_since(self, accepted: int) -> list[Processing]:
        """What the versions after ``accepted`` add: what a resident is asked about again."""
        return [p for v in self.versions if v.version > accepted for p in v.adds]


@dataclasses.dataclass(frozen=True)
class Update:
    """What a resident who accepted an older version is asked about, once."""

    version: int
    lines: tuple[str, ...]


def update_for(
    notice: PrivacyNotice,
    language: Language,
    *,
    accepted: int | None,
    asked: int | None,
) -> Update | None:
    """The news to ask a consented resident about, unless they were already asked about it."""
    if accepted is None or accepted >= notice.current or (asked or 0) >= notice.current:
        return None
    lines = tuple(p.text.get(language) for p in notice.added_since(accepted))
    return Update(version=notice.current, lines=lines)
