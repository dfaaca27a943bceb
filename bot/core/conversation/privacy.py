"""Consent, the privacy notice's updates, /mydata and /forget."""

from __future__ import annotations

import json

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.conversation.base import Conversation, Press
from bot.core.models import Resident
from bot.core.replies import Document, Reply


async def agree(conv: Conversation, press: Press, action: cb.Agree) -> Reply:
    """ "I agree": consent, the cohort held for it, then the optional profile questions."""
    content, resident, language = conv.content, press.resident, press.language
    ui = content.ui[language]
    already = resident.consented
    await conv.store.residents.give_consent(
        resident_id=resident.id, version=content.privacy.current
    )
    notice = ui.consent_thanks
    code = await conv.store.cohorts.take_code(resident_id=resident.id)
    cohort = await conv.store.cohorts.find(code=code) if code else None
    if cohort is not None:
        await conv.store.cohorts.join(resident_id=resident.id, cohort_id=cohort.id)
        notice += "\n" + ui.cohort_joined.format(name=cohort.name)
    if already:  # an old "I agree" button: nothing to ask again
        return Reply((screens.main_menu(content, language, notice=notice),))
    # Then the optional profile questions, then the baseline check-up offer.
    return Reply((screens.profile_intro(content, language, notice=notice),))


async def notice_agree(conv: Conversation, press: Press, action: cb.NoticeAgree) -> Reply:
    """Agreement to what a newer version of the notice adds."""
    content, resident, language = conv.content, press.resident, press.language
    version = action.version
    if not resident.consent_version or not (
        resident.consent_version < version <= content.privacy.current
    ):
        return conv.stale(language)
    await conv.store.residents.accept_notice(resident_id=resident.id, version=version)
    notice = content.ui[language].notice_update_agreed
    return Reply((screens.main_menu(content, language, notice=notice),), edit=True)


async def notice_later(conv: Conversation, press: Press, action: cb.NoticeLater) -> Reply:
    """Not now: the menu (asked again from /settings)."""
    notice = conv.content.ui[press.language].notice_update_later
    return Reply((screens.main_menu(conv.content, press.language, notice=notice),), edit=True)


async def notice_review(conv: Conversation, press: Press, action: cb.NoticeReview) -> Reply:
    """From /settings: what is new in the notice, again."""
    news = conv.news(press.resident)
    if news is None:
        return conv.stale(press.language)
    return Reply((screens.notice_update(conv.content, press.language, news),), edit=True)


async def my_data(conv: Conversation, resident: Resident) -> Reply:
    """/mydata: everything stored about the resident, as a JSON file."""
    data = await conv.store.privacy.export(resident_id=resident.id)
    document = Document(
        filename="finlit-my-data.json",
        data=json.dumps(data, ensure_ascii=False, indent=2).encode(),
        caption=conv.content.ui[resident.language].mydata_caption,
    )
    return Reply(documents=(document,))


async def forget_command(conv: Conversation, resident: Resident) -> Reply:
    """/forget: asks to confirm."""
    return Reply((screens.forget_prompt(conv.content, resident.language),))


async def forget(conv: Conversation, press: Press, action: cb.ForgetConfirm) -> Reply:
    """Confirmed: everything about the resident is deleted."""
    await conv.store.privacy.forget(resident_id=press.resident.id)
    text = conv.content.ui[press.language].forget_done
    return Reply((screens.plain_notice(conv.content, press.language, text),), edit=True)


async def keep(conv: Conversation, press: Press, action: cb.ForgetCancel) -> Reply:
    """Not confirmed: nothing is deleted."""
    notice = conv.content.ui[press.language].forget_cancelled
    return Reply((screens.main_menu(conv.content, press.language, notice=notice),), edit=True)
