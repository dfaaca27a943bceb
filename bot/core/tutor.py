"""The conversation: what finlit answers to each thing a resident does, on any channel.

A channel turns its input into a call here (``start``, ``command``, ``press``, ``chatter``) and
shows the returned ``Reply``. Everything a resident does is stored before the reply is built,
and nothing here keeps state in memory, so a restart or a second process carries on the same
conversation.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

from bot.core import callbacks as cb
from bot.core import consent, screens
from bot.core.admin import ADMIN_COMMANDS, AdminDesk
from bot.core.assessment import BASELINE, FINAL, final_is_due, score_sitting
from bot.core.content import Content
from bot.core.curriculum import Lesson, shown_order
from bot.core.fraud import routing
from bot.core.fraud.checking import CheckDesk
from bot.core.fraud.drills import DrillDesk
from bot.core.fraud.loan_talk import LoanDesk
from bot.core.i18n import Language, suggest_language
from bot.core.models import Attempt, Resident, Sitting
from bot.core.profile import DECLINED
from bot.core.progress import LessonStatus, next_lesson, progress_report, score_attempt
from bot.core.replies import Button, Document, Keyboard, Reply, Screen
from bot.store import Store

CommandName = Literal[
    "menu",
    "help",
    "progress",
    "checkup",
    "language",
    "mydata",
    "forget",
    "settings",
    "drill",
    "loan",
    "check",
]
COMMANDS: tuple[CommandName, ...] = (
    "menu",
    "help",
    "progress",
    "checkup",
    "language",
    "mydata",
    "forget",
    "settings",
    "drill",
    "loan",
    "check",
)
FULL_QUIZ = "full"
RETRY_QUIZ = "retry"


@dataclasses.dataclass(frozen=True)
class Visitor:
    """Who is talking: a channel's user id, their client's language, and a name to greet.

    The name is only ever used to render the greeting; it is never stored.
    """

    id: int
    language_hint: str | None = None
    name: str = ""


class Tutor:
    def __init__(
        self,
        content: Content,
        store: Store,
        *,
        default_language: Language,
        admin: AdminDesk | None = None,
    ) -> None:
        self.content = content
        self.store = store
        self.default_language = default_language
        self.admin = admin
        # The fraud tools (issue 16): spot-the-scam drills and the loan calculator.
        self.drills = DrillDesk(content, store.drills)
        self.loans = LoanDesk(content, store.loans)
        # The scam-message checker (issue 16): /check, its button, forwarded messages.
        self.checks = CheckDesk(content, store.checks)

    def language_for(self, hint: str | None) -> Language:
        return suggest_language(hint, self.default_language)

    async def _resident(self, visitor: Visitor) -> Resident:
        return await self.store.residents.ensure(
            resident_id=visitor.id, language=self.language_for(visitor.language_hint)
        )

    # Entry points

    async def start(self, visitor: Visitor, payload: str | None = None) -> Reply:
        """/start, optionally with a deep-link payload: a cohort's code joins that cohort."""
        resident = await self._resident(visitor)
        language = resident.language
        ui = self.content.ui[language]
        cohort = await self.store.cohorts.find(code=payload) if payload else None
        unknown_link = bool(payload) and cohort is None
        if not resident.consented:
            if cohort is not None:  # joined once they consent, not before
                await self.store.cohorts.hold_code(resident_id=resident.id, code=cohort.code)
            welcome = screens.welcome(
                self.content, language, name=visitor.name, unknown_link=unknown_link
            )
            return Reply((welcome,))
        greeting = ui.welcome_hello.format(name=visitor.name)
        if cohort is not None:
            await self.store.cohorts.join(resident_id=resident.id, cohort_id=cohort.id)
            greeting += "\n" + ui.cohort_joined.format(name=cohort.name)
        if unknown_link:
            greeting += "\n" + ui.welcome_unknown_link
        reply = Reply((screens.main_menu(self.content, language, notice=greeting),))
        return await self._with_news(resident, reply)

    async def command(self, visitor: Visitor, name: CommandName) -> Reply:
        resident = await self._resident(visitor)
        if not resident.consented:
            return Reply((screens.consent_needed(self.content, resident.language),))
        return await self._with_news(resident, await self._command(resident, name))

    async def _command(self, resident: Resident, name: CommandName) -> Reply:
        language = resident.language
        match name:
            case "menu":
                return Reply((screens.main_menu(self.content, language),))
            case "help":
                return Reply((screens.help_screen(self.content, language),))
            case "progress":
                return Reply((await self._progress(resident),))
            case "checkup":
                reply = await self._checkup(resident)
                return dataclasses.replace(reply, edit=False)
            case "language":
                return Reply((screens.language_choice(self.content, language),))
            case "mydata":
                return await self._my_data(resident)
            case "forget":
                return Reply((screens.forget_prompt(self.content, language),))
            case "check":
                return await self.checks.ask(resident.id, language, edit=False)
            case "drill":
                return await self.drills.next(resident.id, language, edit=False)
            case "loan":
                return await self.loans.start(resident.id, language, edit=False)
            case "settings":
                on = await self.store.residents.announcements(resident_id=resident.id)
                news = self._news(resident)
                return Reply((settings_screen(self.content, language, on=on, news=news),))

    async def text(self, visitor: Visitor, text: str, *, forwarded: bool = False) -> Reply:
        """Anything typed or forwarded in private; where it goes is ``routing.route``'s rule."""
        known: Resident | None = None

        async def asked_to_check() -> bool:
            nonlocal known
            known = await self._resident(visitor)
            return known.consented and await self.checks.asked(known.id)

        match await routing.route(text, forwarded=forwarded, asked_to_check=asked_to_check):
            case routing.Route.CHECK:
                # Forwarded messages are checked before consent too: nothing about the
                # resident is stored, and this is the moment of danger.
                resident = known or await self._resident(visitor)
                return await self.checks.check(resident.language, text)
            case routing.Route.COMMAND:
                return await self._command_text(visitor, text)
            case routing.Route.TYPED:
                return await self._typed(visitor, known or await self._resident(visitor), text)

    async def _command_text(self, visitor: Visitor, text: str) -> Reply:
        """``/start [payload]``, another known command, an administrator's, or an unknown one."""
        # Split at the first whitespace of any kind: "/broadcast" may be followed by a new line.
        word, rest = (*text.strip().split(maxsplit=1), "", "")[:2]
        if word.startswith("/"):
            name = word[1:].split("@", 1)[0].lower()
            if name == "start":
                return await self.start(visitor, rest.strip() or None)
            if (
                name in ADMIN_COMMANDS
                and self.admin is not None
                and self.admin.is_admin(visitor.id)
            ):
                language = await self.language_of(visitor.id, visitor.language_hint)
                return await self.admin.handle(visitor.id, language, name, rest)
            for command in COMMANDS:
                if name == command:
                    if command != "check":  # another command: /check's request lapses
                        await self.checks.asked(visitor.id)
                    return await self.command(visitor, command)
        return await self.chatter(visitor)

    async def _typed(self, visitor: Visitor, resident: Resident, text: str) -> Reply:
        """Typed text that is neither a command nor a message to check."""
        if resident.consented:
            # The loan calculator waiting for a number takes typed text as its answer (issue 16).
            typed = await self.loans.typed(resident.id, resident.language, text)
            if typed is not None:
                return typed
            # Until the "ask in your own words" path answers it: offer the checker and the menu.
            offer = self.checks.offer(resident.language)
            if offer is not None:
                return await self._with_news(resident, Reply((offer,)))
        return await self.chatter(visitor)

    async def chatter(self, visitor: Visitor) -> Reply:
        """Free text, stickers, photos, voice: a friendly pointer to the buttons."""
        resident = await self._resident(visitor)
        language = resident.language
        if not resident.consented:
            return Reply((screens.consent_needed(self.content, language),))
        ui = self.content.ui[language]
        reply = Reply((screens.notice_with_menu(self.content, language, ui.chatter_pointer),))
        return await self._with_news(resident, reply)

    def group_pointer(self, language_hint: str | None, link: str | None = None) -> Reply:
        """In a group the bot only says where it works (with a button to its private chat when
        ``link`` is given); nothing is stored."""
        language = self.language_for(language_hint)
        ui = self.content.ui[language]
        screen = screens.plain_notice(self.content, language, ui.group_pointer)
        if link is not None:
            screen = dataclasses.replace(
                screen, keyboard=((Button.link(ui.btn_private_chat, link),),)
            )
        return Reply((screen,))

    def unchanged_toast(self, language: Language) -> str:
        """A press whose screen is already showing: said on the button, nothing is sent."""
        return self.content.ui[language].press_unchanged

    def received_toast(self, language: Language) -> str:
        """A press whose reply must wait its turn (a busy moment): the tap registered."""
        return self.content.ui[language].press_received

    def one_moment(self, language: Language) -> Reply:
        """Once per burst of messages typed faster than they can be answered."""
        text = self.content.ui[language].one_moment
        return Reply((screens.plain_notice(self.content, language, text),))

    def one_moment_toast(self, language: Language) -> str:
        return self.content.ui[language].one_moment_toast

    def apology(self, language: Language) -> Reply:
        text = self.content.ui[language].error_apology
        return Reply((screens.notice_with_menu(self.content, language, text),))

    async def prefer_language(self, visitor: Visitor, language: Language) -> None:
        """Set a resident's language outright (a channel's explicit choice, e.g. --lang)."""
        await self._resident(visitor)
        await self.store.residents.set_language(resident_id=visitor.id, language=language)

    async def language_of(self, resident_id: int, hint: str | None) -> Language:
        resident = await self.store.residents.get(resident_id=resident_id)
        return resident.language if resident else self.language_for(hint)

    async def press(self, visitor: Visitor, data: str | None) -> Reply:
        """A button press. Anything stale, forged or not this resident's gets a polite answer."""
        resident = await self._resident(visitor)
        action = cb.decode(data)
        if action is None:
            return self._stale(resident.language)
        if isinstance(action, cb.BroadcastSend | cb.BroadcastCancel):
            # Administrators' buttons: for anyone else (a forged press) they do not exist.
            reply = None
            if self.admin is not None and self.admin.is_admin(visitor.id):
                reply = await self.admin.broadcast_press(visitor.id, resident.language, action)
            return reply if reply is not None else self._stale(resident.language)
        if not resident.consented and not isinstance(action, cb.Agree | cb.SetLanguage):
            ui = self.content.ui[resident.language]
            return Reply(
                (screens.consent_needed(self.content, resident.language),),
                notice=ui.consent_needed,
            )
        reply = await self._act(resident, visitor, action)
        if isinstance(action, cb.Agree | cb.NoticeAgree | cb.NoticeLater | cb.NoticeReview):
            return reply
        return await self._with_news(resident, reply)

    # Consent that keeps up (content/privacy.yaml, bot/core/consent.py)

    def may(self, resident: Resident, processing: str) -> bool:
        """The gate every feature asks: may ``processing`` be done for this resident?"""
        return self.content.privacy.allows(resident.consent_version, processing)

    def _news(self, resident: Resident) -> consent.Update | None:
        """What a newer notice adds for this resident, whether or not they were asked."""
        return consent.update_for(
            self.content.privacy,
            resident.language,
            accepted=resident.consent_version,
            asked=None,
        )

    async def _with_news(self, resident: Resident, reply: Reply) -> Reply:
        """Ask a resident who accepted an older notice about what is new, once, after the reply."""
        news = consent.update_for(
            self.content.privacy,
            resident.language,
            accepted=resident.consent_version,
            asked=resident.consent_asked,
        )
        if news is None or not await self.store.residents.notice_asked(
            resident_id=resident.id, version=news.version
        ):
            return reply
        question = screens.notice_update(self.content, resident.language, news)
        return dataclasses.replace(reply, screens=(*reply.screens, question))

    # Actions

    async def _act(self, resident: Resident, visitor: Visitor, action: cb.Action) -> Reply:
        content, language = self.content, resident.language
        ui = content.ui[language]
        match action:
            case cb.Agree():
                already = resident.consented
                await self.store.residents.give_consent(
                    resident_id=resident.id, version=content.privacy.current
                )
                notice = ui.consent_thanks
                code = await self.store.cohorts.take_code(resident_id=resident.id)
                cohort = await self.store.cohorts.find(code=code) if code else None
                if cohort is not None:
                    await self.store.cohorts.join(resident_id=resident.id, cohort_id=cohort.id)
                    notice += "\n" + ui.cohort_joined.format(name=cohort.name)
                if already:  # an old "I agree" button: nothing to ask again
                    return Reply((screens.main_menu(content, language, notice=notice),))
                # Then the optional profile questions, then the baseline check-up offer.
                return Reply((screens.profile_intro(content, language, notice=notice),))
            case cb.ProfileStart():
                return Reply((screens.profile_question(content, language, 0),), edit=True)
            case cb.ProfileAnswer(question=index, option=option):
                return await self._profile_answer(resident, index, option)
            case cb.ProfileDecline(question=index):
                return await self._profile_answer(resident, index, None)
            case cb.ProfileSkip():
                offer = screens.checkup_offer(content, language, final=False)
                return Reply((offer,), edit=True)
            case cb.SetLanguage(language=chosen):
                await self.store.residents.set_language(resident_id=resident.id, language=chosen)
                if not resident.consented:
                    welcome = screens.welcome(
                        content, chosen, name=visitor.name, unknown_link=False
                    )
                    return Reply((welcome,), edit=True)
                notice = content.ui[chosen].language_set
                return Reply((screens.main_menu(content, chosen, notice=notice),), edit=True)
            case cb.Menu():
                return Reply((screens.main_menu(content, language),), edit=True)
            case cb.Topics():
                state = await self.store.lessons.resident_state(resident_id=resident.id)
                return Reply((screens.topics(content, language, state),), edit=True)
            case cb.OpenTopic(topic_id=topic_id):
                topic = content.curriculum.topic(topic_id)
                if topic is None:
                    return self._stale(language)
                state = await self.store.lessons.resident_state(resident_id=resident.id)
                return Reply((screens.topic(content, language, topic, state),), edit=True)
            case cb.ShowCard(lesson_id=lesson_id, index=index):
                return await self._show_card(resident, lesson_id, index)
            case cb.StartQuiz(lesson_id=lesson_id):
                return await self._start_quiz(resident, lesson_id)
            case cb.Answer(attempt_id=attempt_id, position=position, option=option):
                return await self._answer(resident, attempt_id, position, option)
            case cb.CardSources(lesson_id=lesson_id, index=index):
                lesson = content.curriculum.lesson(lesson_id)
                if lesson is None or not 0 <= index < len(lesson.cards):
                    return self._stale(language)
                found = lesson.sources_of_card(index)
                if not found:
                    return self._stale(language)
                # A new message under the card: the card and its buttons stay as they are.
                return Reply((screens.sources(content, language, found),))
            case cb.QuestionSources(question_id=question_id):
                lesson = content.curriculum.lesson_of(question_id)
                question = content.curriculum.question(question_id)
                if lesson is None or question is None or not lesson.sources_of(question):
                    return self._stale(language)
                return Reply((screens.sources(content, language, lesson.sources_of(question)),))
            case cb.NextQuestion(attempt_id=attempt_id, position=position):
                return await self._next_question(resident, attempt_id, position)
            case cb.RetryMissed(attempt_id=attempt_id):
                return await self._retry_missed(resident, attempt_id)
            case cb.Continue():
                return await self._continue(resident)
            case cb.Progress():
                return Reply((await self._progress(resident),), edit=True)
            case cb.Help():
                return Reply((screens.help_screen(content, language),), edit=True)
            case cb.ChooseLanguage():
                return Reply((screens.language_choice(content, language),), edit=True)
            case cb.StartCheckup():
                return await self._checkup(resident)
            case cb.CheckupAnswer(sitting_id=sitting_id, position=position, option=option):
                return await self._checkup_answer(resident, sitting_id, position, option)
            case cb.CheckupDontKnow(sitting_id=sitting_id, position=position):
                return await self._checkup_answer(resident, sitting_id, position, None)
            case cb.ForgetConfirm():
                await self.store.privacy.forget(resident_id=resident.id)
                return Reply((screens.plain_notice(content, language, ui.forget_done),), edit=True)
            case cb.ForgetCancel():
                screen = screens.main_menu(content, language, notice=ui.forget_cancelled)
                return Reply((screen,), edit=True)
            case cb.SetAnnouncements(on=on, edit=edit):
                await self.store.residents.set_announcements(resident_id=resident.id, on=on)
                notice = ui.announcements_turned_on if on else ui.announcements_turned_off
                # From an announcement's own button (edit=False) the announcement stays put.
                news = self._news(resident)
                screen = settings_screen(content, language, on=on, notice=notice, news=news)
                return Reply((screen,), edit=edit, notice=notice)
            case cb.NoticeAgree(version=version):
                if not resident.consent_version or not (
                    resident.consent_version < version <= content.privacy.current
                ):
                    return self._stale(language)
                await self.store.residents.accept_notice(resident_id=resident.id, version=version)
                notice = ui.notice_update_agreed
                return Reply((screens.main_menu(content, language, notice=notice),), edit=True)
            case cb.NoticeLater():
                notice = ui.notice_update_later
                return Reply((screens.main_menu(content, language, notice=notice),), edit=True)
            case cb.NoticeReview():
                news = self._news(resident)
                if news is None:
                    return self._stale(language)
                return Reply((screens.notice_update(content, language, news),), edit=True)
            case cb.CheckMessage():
                return await self.checks.ask(resident.id, language, edit=False)
            case cb.DrillNext():
                return await self.drills.next(resident.id, language, edit=True)
            case cb.DrillAnswer(drill_id=drill_id, answer=answer):
                drilled = await self.drills.answer(resident.id, language, drill_id, answer)
                return drilled if drilled is not None else self._stale(language)
            case cb.LoanStart():
                return await self.loans.start(resident.id, language, edit=True)
            case cb.LoanChoose():
                picked = await self.loans.choose(resident.id, language, action)
                return picked if picked is not None else self._stale(language)
            case cb.LoanStop(session=session):
                if not await self.loans.stop(resident.id, session):
                    return self._stale(language)
                assert content.loans is not None
                notice = content.loans.texts[language].stopped
                return Reply((screens.main_menu(content, language, notice=notice),), edit=True)
            case cb.BroadcastSend() | cb.BroadcastCancel():
                return self._stale(language)  # handled in press(); never reached

    async def _profile_answer(self, resident: Resident, index: int, option: int | None) -> Reply:
        """Store one profile answer (None: prefer not to say), then the next question."""
        questions = self.content.profile.questions
        if not 0 <= index < len(questions):
            return self._stale(resident.language)
        question = questions[index]
        if option is not None and not 0 <= option < len(question.options):
            return self._stale(resident.language)
        value = DECLINED if option is None else question.options[option].id
        await self.store.residents.set_profile(
            resident_id=resident.id, field=question.id, value=value
        )
        if index + 1 < len(questions):
            following = screens.profile_question(self.content, resident.language, index + 1)
            return Reply((following,), edit=True)
        offer = screens.checkup_offer(self.content, resident.language, final=False)
        return Reply((offer,), edit=True)

    def _stale(self, language: Language) -> Reply:
        text = self.content.ui[language].stale_button
        return Reply((screens.notice_with_menu(self.content, language, text),), notice=text)

    async def _show_card(self, resident: Resident, lesson_id: str, index: int) -> Reply:
        lesson = self.content.curriculum.lesson(lesson_id)
        topic = self.content.curriculum.topic_of(lesson_id)
        if lesson is None or topic is None or not 0 <= index < len(lesson.cards):
            return self._stale(resident.language)
        await self.store.lessons.open_card(
            resident_id=resident.id, lesson_id=lesson_id, card_index=index
        )
        screen = screens.card(self.content, resident.language, topic, lesson, index)
        return Reply((screen,), edit=True)

    async def _start_quiz(self, resident: Resident, lesson_id: str) -> Reply:
        lesson = self.content.curriculum.lesson(lesson_id)
        if lesson is None:
            return self._stale(resident.language)
        current = await self.store.quizzes.unfinished(resident_id=resident.id)
        if current is not None and current.lesson_id == lesson_id and current.kind == FULL_QUIZ:
            attempt = current  # pressing "Take the quiz" twice resumes, it does not restart
        else:
            attempt = await self.store.quizzes.start(
                resident_id=resident.id,
                lesson_id=lesson_id,
                question_ids=[q.id for q in lesson.quiz],
                kind=FULL_QUIZ,
            )
        return self._question_or_stale(resident, attempt, attempt.position)

    async def _owned_attempt(self, resident: Resident, attempt_id: int) -> Attempt | None:
        attempt = await self.store.quizzes.get(attempt_id=attempt_id)
        if attempt is None or attempt.resident_id != resident.id:
            return None  # forged, or another resident's sitting
        return attempt

    def _question_or_stale(self, resident: Resident, attempt: Attempt, position: int) -> Reply:
        lesson = self.content.curriculum.lesson(attempt.lesson_id)
        question = (
            self.content.curriculum.question(attempt.question_ids[position])
            if 0 <= position < len(attempt.question_ids)
            else None
        )
        if lesson is None or question is None:
            return self._stale(resident.language)  # the content changed under this sitting
        screen = screens.question(
            self.content,
            resident.language,
            lesson,
            question,
            attempt_id=attempt.id,
            position=position,
            total=len(attempt.question_ids),
            order=shown_order(question, resident_id=resident.id, attempt_id=attempt.id),
        )
        return Reply((screen,), edit=True)

    async def _answer(
        self, resident: Resident, attempt_id: int, position: int, chosen: int | str
    ) -> Reply:
        """``chosen`` is the option's id, or its position in content (an old, unshuffled button)."""
        language = resident.language
        attempt = await self._owned_attempt(resident, attempt_id)
        if attempt is None or not 0 <= position < len(attempt.question_ids):
            return self._stale(language)
        question = self.content.curriculum.question(attempt.question_ids[position])
        if question is None:
            return self._stale(language)
        option = question.option_index(chosen) if isinstance(chosen, str) else chosen
        if option is None or not 0 <= option < len(question.options):
            return self._stale(language)
        notice = None
        recorded = False
        if position == attempt.position and not attempt.finished:
            recorded = await self.store.quizzes.record_answer(
                attempt=attempt,
                position=position,
                option_index=option,
                option_id=question.options[option].id,
                correct=question.options[option].correct,
            )
        if not recorded:
            # Answered before (a double press, a redelivered update, an old message): show what
            # was recorded the first time, never record a second answer.
            earlier = (await self.store.quizzes.answers(attempt_id=attempt.id)).get(question.id)
            before = None
            if earlier is not None:
                before = (
                    question.option_index(earlier.option_id)
                    if earlier.option_id is not None
                    else earlier.option_index
                )
            if before is None or before >= len(question.options):
                return self._stale(language)
            option = before
            notice = self.content.ui[language].already_answered
        screen = screens.feedback(
            self.content,
            language,
            question,
            chosen=option,
            attempt_id=attempt.id,
            position=position,
            total=len(attempt.question_ids),
        )
        return Reply((screen,), edit=True, notice=notice)

    async def _next_question(self, resident: Resident, attempt_id: int, position: int) -> Reply:
        attempt = await self._owned_attempt(resident, attempt_id)
        if attempt is None or position > attempt.position:
            return self._stale(resident.language)
        if attempt.finished or attempt.position >= len(attempt.question_ids):
            return await self._result(resident, attempt)
        # An old "Next" (position behind) lands on the question that is actually due.
        return self._question_or_stale(resident, attempt, attempt.position)

    async def _result(self, resident: Resident, attempt: Attempt) -> Reply:
        closed = await self.store.quizzes.finish(attempt_id=attempt.id)
        offer = None
        if closed and attempt.kind == FULL_QUIZ:
            await self.store.lessons.complete(resident_id=resident.id, lesson_id=attempt.lesson_id)
            offer = await self._final_offer(resident)
        lesson = self.content.curriculum.lesson(attempt.lesson_id)
        if lesson is None:
            return self._stale(resident.language)
        recorded = await self.store.quizzes.answers(attempt_id=attempt.id)
        result = score_attempt(
            attempt.question_ids, {qid: a.correct for qid, a in recorded.items()}
        )
        state = await self.store.lessons.resident_state(resident_id=resident.id)
        following = next_lesson(self.content.curriculum, state, after=lesson.id)
        screen = screens.quiz_result(
            self.content,
            resident.language,
            lesson,
            result,
            attempt_id=attempt.id,
            following=following,
        )
        # One message for the tap: the check-up offer joins the result rather than following it.
        return Reply((screen if offer is None else screens.joined(screen, offer),), edit=True)

    async def _checkup(self, resident: Resident) -> Reply:
        """Resume an unfinished check-up, or start one: baseline first, final after that."""
        sittings = await self.store.checkups.of_resident(resident_id=resident.id)
        unfinished = next((s for s in reversed(sittings) if not s.finished), None)
        if unfinished is not None:
            reply = self._checkup_item(resident, unfinished, unfinished.position)
            return dataclasses.replace(
                reply, notice=self.content.ui[resident.language].checkup_resume
            )
        had_baseline = any(s.finished and s.kind == BASELINE for s in sittings)
        sitting = await self.store.checkups.start(
            resident_id=resident.id,
            kind=FINAL if had_baseline else BASELINE,
            item_ids=[item.id for item in self.content.assessment.items],
            instrument_version=self.content.assessment.version,
        )
        return self._checkup_item(resident, sitting, 0)

    def _checkup_item(self, resident: Resident, sitting: Sitting, position: int) -> Reply:
        item = (
            self.content.assessment.item(sitting.item_ids[position])
            if 0 <= position < len(sitting.item_ids)
            else None
        )
        if item is None:
            return self._stale(resident.language)  # the instrument changed under this sitting
        screen = screens.checkup_item(
            self.content,
            resident.language,
            item,
            sitting_id=sitting.id,
            position=position,
            total=len(sitting.item_ids),
        )
        return Reply((screen,), edit=True)

    async def _checkup_answer(
        self, resident: Resident, sitting_id: int, position: int, option: int | None
    ) -> Reply:
        """Record one check-up answer (None: "I don't know"), then show what comes next."""
        language = resident.language
        sitting = await self.store.checkups.get(sitting_id=sitting_id)
        if (
            sitting is None
            or sitting.resident_id != resident.id
            or not 0 <= position < len(sitting.item_ids)
            or position > sitting.position
        ):
            return self._stale(language)
        item = self.content.assessment.item(sitting.item_ids[position])
        if item is None or (option is None and not item.offers_dont_know):
            return self._stale(language)
        if option is not None and not 0 <= option < len(item.options):
            return self._stale(language)
        notice = None
        recorded = False
        if position == sitting.position and not sitting.finished:
            points = item.options[option].points if option is not None else 0
            recorded = await self.store.checkups.record_answer(
                sitting=sitting, position=position, option_index=option, points=points
            )
        if not recorded:
            notice = self.content.ui[language].already_answered
        current = await self.store.checkups.get(sitting_id=sitting.id)
        if current is None:
            return self._stale(language)
        if current.finished or current.position >= len(current.item_ids):
            reply = await self._checkup_result(resident, current)
        else:
            reply = self._checkup_item(resident, current, current.position)
        return dataclasses.replace(reply, notice=notice)

    async def _checkup_result(self, resident: Resident, sitting: Sitting) -> Reply:
        chosen = await self.store.checkups.answers(sitting_id=sitting.id)
        score = score_sitting(self.content.assessment, sitting.item_ids, chosen)
        await self.store.checkups.finish(
            sitting_id=sitting.id, scores=score.shares(), dont_know=score.dont_know
        )
        before = None
        if sitting.kind == FINAL:
            sittings = await self.store.checkups.of_resident(resident_id=resident.id)
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
        screen = screens.checkup_result(self.content, resident.language, score, before)
        return Reply((screen,), edit=True)

    async def _final_offer(self, resident: Resident) -> Screen | None:
        """The check-up offer, at the moment the resident passes half of the course."""
        state = await self.store.lessons.resident_state(resident_id=resident.id)
        total = len(self.content.curriculum.lessons())
        done = sum(
            state.status(lesson.id) is LessonStatus.DONE
            for _, lesson in self.content.curriculum.lessons()
        )
        if not final_is_due(done, total) or final_is_due(done - 1, total):
            return None
        sittings = await self.store.checkups.of_resident(resident_id=resident.id)
        if any(s.kind == FINAL or not s.finished for s in sittings):
            return None
        had_baseline = any(s.kind == BASELINE for s in sittings)
        return screens.checkup_offer(self.content, resident.language, final=had_baseline)

    async def _retry_missed(self, resident: Resident, attempt_id: int) -> Reply:
        attempt = await self._owned_attempt(resident, attempt_id)
        if attempt is None or not attempt.finished:
            return self._stale(resident.language)
        recorded = await self.store.quizzes.answers(attempt_id=attempt.id)
        missed = [
            qid
            for qid in attempt.question_ids
            if not (recorded.get(qid) and recorded[qid].correct)
            and self.content.curriculum.question(qid) is not None
        ]
        if not missed:
            return await self._result(resident, attempt)
        retry = await self.store.quizzes.start(
            resident_id=resident.id,
            lesson_id=attempt.lesson_id,
            question_ids=missed,
            kind=RETRY_QUIZ,
        )
        return self._question_or_stale(resident, retry, 0)

    async def _continue(self, resident: Resident) -> Reply:
        """Back to the most recent unfinished quiz or lesson, else the next lesson in order."""
        attempt = await self.store.quizzes.unfinished(resident_id=resident.id)
        reading = await self.store.lessons.in_progress(resident_id=resident.id)
        if attempt is not None and (reading is None or attempt.updated_at >= reading.updated_at):
            if attempt.position >= len(attempt.question_ids):
                return await self._result(resident, attempt)
            reply = self._question_or_stale(resident, attempt, attempt.position)
            if reply.notice is None:
                return reply
        if reading is not None:
            lesson = self.content.curriculum.lesson(reading.lesson_id)
            if lesson is not None:
                index = min(reading.card_index, len(lesson.cards) - 1)
                return await self._show_card(resident, lesson.id, index)
        state = await self.store.lessons.resident_state(resident_id=resident.id)
        upcoming: Lesson | None = next_lesson(self.content.curriculum, state, after=None)
        if upcoming is not None:
            return await self._show_card(resident, upcoming.id, 0)
        text = self.content.ui[resident.language].all_lessons_done
        return Reply((screens.notice_with_menu(self.content, resident.language, text),), edit=True)

    async def _progress(self, resident: Resident) -> Screen:
        state = await self.store.lessons.resident_state(resident_id=resident.id)
        report = progress_report(self.content.curriculum, state)
        return screens.progress(self.content, resident.language, report)

    async def _my_data(self, resident: Resident) -> Reply:
        data = await self.store.privacy.export(resident_id=resident.id)
        document = Document(
            filename="finlit-my-data.json",
            data=json.dumps(data, ensure_ascii=False, indent=2).encode(),
            caption=self.content.ui[resident.language].mydata_caption,
        )
        return Reply(documents=(document,))


def settings_screen(
    content: Content,
    language: Language,
    *,
    on: bool,
    notice: str | None = None,
    news: consent.Update | None = None,
) -> Screen:
    """/settings: whether administrators' announcements reach the resident, and a toggle; and
    what is new in the privacy notice, while the resident has not agreed to it."""
    ui = content.ui[language]
    toggle = (
        Button.of(ui.btn_announcements_off, cb.SetAnnouncements(on=False, edit=True))
        if on
        else Button.of(ui.btn_announcements_on, cb.SetAnnouncements(on=True, edit=True))
    )
    review = ((Button.of(ui.btn_notice_review, cb.NoticeReview()),),) if news else ()
    keyboard: Keyboard = ((toggle,), *review, (Button.of(ui.btn_menu, cb.Menu()),))
    text = content.render("settings.html.j2", language, on=on, notice=notice, news=bool(news))
    return Screen(text, keyboard)
