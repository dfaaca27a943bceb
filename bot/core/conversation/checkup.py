"""The check-up (baseline, then final): start or resume, answer an item, the result, the offer."""

from __future__ import annotations

import dataclasses

from bot.core import callbacks as cb
from bot.core import screens
from bot.core.assessment import BASELINE, FINAL, final_is_due, score_sitting
from bot.core.conversation.base import Conversation, Press
from bot.core.models import Resident, Sitting
from bot.core.progress import LessonStatus
from bot.core.replies import Reply, Screen


async def command(conv: Conversation, resident: Resident) -> Reply:
    """/checkup: as the button, but always a new message."""
    return dataclasses.replace(await resume_or_start(conv, resident), edit=False)


async def start(conv: Conversation, press: Press, action: cb.StartCheckup) -> Reply:
    """The check-up's button."""
    return await resume_or_start(conv, press.resident)


async def resume_or_start(conv: Conversation, resident: Resident) -> Reply:
    """Resume an unfinished check-up, or start one: baseline first, final after that."""
    content = conv.content
    sittings = await conv.store.checkups.of_resident(resident_id=resident.id)
    unfinished = next((s for s in reversed(sittings) if not s.finished), None)
    if unfinished is not None:
        reply = _item(conv, resident, unfinished, unfinished.position)
        return dataclasses.replace(reply, notice=content.ui[resident.language].checkup_resume)
    had_baseline = any(s.finished and s.kind == BASELINE for s in sittings)
    sitting = await conv.store.checkups.start(
        resident_id=resident.id,
        kind=FINAL if had_baseline else BASELINE,
        item_ids=[item.id for item in content.assessment.items],
        instrument_version=content.assessment.version,
    )
    return _item(conv, resident, sitting, 0)


def _item(conv: Conversation, resident: Resident, sitting: Sitting, position: int) -> Reply:
    content = conv.content
    item = (
        content.assessment.item(sitting.item_ids[position])
        if 0 <= position < len(sitting.item_ids)
        else None
    )
    if item is None:
        return conv.stale(resident.language)  # the instrument changed under this sitting
    screen = screens.checkup_item(
        content,
        resident.language,
        item,
        sitting_id=sitting.id,
        position=position,
        total=len(sitting.item_ids),
    )
    return Reply((screen,), edit=True)


async def answer(conv: Conversation, press: Press, action: cb.CheckupAnswer) -> Reply:
    """An option of a check-up item."""
    return await _answer(conv, press.resident, action.sitting_id, action.position, action.option)


async def dont_know(conv: Conversation, press: Press, action: cb.CheckupDontKnow) -> Reply:
    """ "I don't know" on a check-up item."""
    return await _answer(conv, press.resident, action.sitting_id, action.position, None)


async def _answer(
    conv: Conversation, resident: Resident, sitting_id: int, position: int, option: int | None
) -> Reply:
    """Record one check-up answer (None: "I don't know"), then show what comes next."""
    language = resident.language
    sitting = await conv.store.checkups.get(sitting_id=sitting_id)
    if (
        sitting is None
        or sitting.resident_id != resident.id
        or not 0 <= position < len(sitting.item_ids)
        or position > sitting.position
    ):
        return conv.stale(language)
    item = conv.content.assessment.item(sitting.item_ids[position])
    if item is None or (option is None and not item.offers_dont_know):
        return conv.stale(language)
    if option is not None and not 0 <= option < len(item.options):
        return conv.stale(language)
    notice = None
    recorded = False
    if position == sitting.position and not sitting.finished:
        points = item.options[option].points if option is not None else 0
        recorded = await conv.store.checkups.record_answer(
            sitting=sitting, position=position, option_index=option, points=points
        )
    if not recorded:
        notice = conv.content.ui[language].already_answered
    current = await conv.store.checkups.get(sitting_id=sitting.id)
    if current is None:
        return conv.stale(language)
    if current.finished or current.position >= len(current.item_ids):
        reply = await _result(conv, resident, current)
    else:
        reply = _item(conv, resident, current, current.position)
    return dataclasses.replace(reply, notice=notice)


async def _result(conv: Conversation, resident: Resident, sitting: Sitting) -> Reply:
    chosen = await conv.store.checkups.answers(sitting_id=sitting.id)
    score = score_sitting(conv.content.assessment, sitting.item_ids, chosen)
    await conv.store.checkups.finish(
        sitting_id=sitting.id, scores=score.shares(), dont_know=score.dont_know
    )
    before = None
    if sitting.kind == FINAL:
        sittings = await conv.store.checkups.of_resident(resident_id=resident.id)
        # Before and after are only compared on the same instrument (version).
        baseline = next(
            (
                s
                for s in sittings
                if s.kind == BASELINE
                and s.scores
                and s.instrument_version == sitting.instrument_version
            ),
            None,
        )
        before = baseline.scores if baseline else None
    screen = screens.checkup_result(conv.content, resident.language, score, before)
    return Reply((screen,), edit=True)


async def final_offer(conv: Conversation, resident: Resident) -> Screen | None:
    """The check-up offer, at the moment the resident passes half of the course."""
    content = conv.content
    state = await conv.store.lessons.resident_state(resident_id=resident.id)
    total = len(content.curriculum.lessons())
    done = sum(
        state.status(lesson.id) is LessonStatus.DONE for _, lesson in content.curriculum.lessons()
    )
    if not final_is_due(done, total) or final_is_due(done - 1, total):
        return None
    sittings = await conv.store.checkups.of_resident(resident_id=resident.id)
    if any(s.kind == FINAL or not s.finished for s in sittings):
        return None
    had_baseline = any(s.kind == BASELINE for s in sittings)
    return screens.checkup_offer(content, resident.language, final=had_baseline)
