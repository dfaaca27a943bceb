"""The terminal preview: scripted conversations, parity with Telegram, and a Telegram-free core."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.content import Content
from bot.core.conversation.tutor import Tutor, Visitor
from bot.core.curriculum import shown_order
from bot.core.handling import NotCommitted
from bot.core.html import visible_text
from bot.core.i18n import Language
from bot.preview.run import preview
from bot.preview.session import PreviewSession, Shown
from bot.preview.terminal import to_terminal
from bot.settings import Settings
from bot.store import Store
from tests.conftest import Harness, built_asker

REPO = Path(__file__).resolve().parents[2]


def seen(html: str) -> str:
    return visible_text(html).strip()


def lesson_script(content: Content, language: Language) -> list[str]:
    """Typed lines for: onboarding, the first lesson and its quiz (one wrong answer), progress."""
    _, lesson = content.curriculum.lessons()[0]
    # Agree, skip the profile questions, skip the check-up, first topic, first lesson.
    lines = ["/start", "1", "2", "2", "1", "1"]
    # Next through the cards, then Take the quiz: [1] is Back, or "Who says so?" on a card that
    # names its sources (Back is then [2]).
    lines += ["3" if lesson.sources_of_card(index) else "2" for index in range(len(lesson.cards))]
    for position, question in enumerate(lesson.quiz):
        chosen = (
            question.correct_index
            if position != 1
            else (question.correct_index + 1) % len(question.options)
        )
        # Options are shown shuffled: resident -1 (the script's), the database's first attempt.
        shown = shown_order(question, resident_id=-1, attempt_id=1).index(chosen)
        lines += [str(shown + 1), "1"]  # the option, then Next question / See my result
    lines.append("/progress")
    return lines  # the same in both languages: only numbers and commands


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_scripted_walk_through_a_lesson(
    settings: Settings, content: Content, tmp_path: Path, language: Language
) -> None:
    script = tmp_path / "walk.txt"
    script.write_text("\n".join(lesson_script(content, language)) + "\n", encoding="utf-8")
    out = io.StringIO()
    code = await preview(
        settings,
        language=language,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/p.db",
        resident_id=-1,
        name=None,
        script=script,
        out=out,
    )
    transcript = out.getvalue()
    ui = content.ui[language]
    topic, lesson = content.curriculum.lessons()[0]
    assert code == 0
    assert transcript.startswith("> /start\n")
    assert ui.welcome_hello.format(name=ui.preview_default_name) in transcript
    assert f"[1] {ui.btn_agree}" in transcript
    for card in lesson.cards:
        assert seen(card.get(language)) in transcript
    for question in lesson.quiz:
        assert seen(question.prompt.get(language)) in transcript
        assert seen(question.explanation.get(language)) in transcript
    assert transcript.count(ui.answer_right) == len(lesson.quiz) - 1
    assert transcript.count(ui.answer_wrong) == 1
    n = len(lesson.quiz)
    assert (
        ui.quiz_score.format(right=n - 1, total=n, score=((n - 1) * 200 + n) // (2 * n))
        in transcript
    )
    assert ui.progress_topic_line.format(done=1, total=len(topic.lessons)) in transcript
    assert "<b>" not in transcript and "&amp;" not in transcript


async def test_a_number_without_a_button_is_explained(settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text("/start\n9\nhello\n", encoding="utf-8")
    out = io.StringIO()
    await preview(
        settings,
        language="en",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/p.db",
        resident_id=-1,
        name="Ann",
        script=script,
        out=out,
    )
    transcript = out.getvalue()
    assert "There is no button 9. Use the numbers shown next to the buttons." in transcript
    assert "Hello, Ann!" in transcript
    assert "Before we begin, please read the note below" in transcript  # text before consent


def test_cli_preview_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.txt").write_text("/start\n1\n/help\n", encoding="utf-8")
    assert main(["preview", "--lang", "zh", "--script", "s.txt"]) == 0
    out = capsys.readouterr().out
    assert "谢谢您！我们开始吧。" in out and "怎么用：" in out
    assert (tmp_path / "data" / "preview.db").is_file()  # a local SQLite file by default


def test_cli_as_admin_needs_admin_ids(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_IDS", "")
    assert main(["preview", "--as-admin", "--script", __file__]) == 2
    assert (
        capsys.readouterr().err
        == "finlit: configuration error: ADMIN_IDS: --as-admin needs at least one id\n"
    )


def test_terminal_rendering() -> None:
    html = '<b>Bold</b>, <i>it</i> &amp; <a href="https://www.pbccrc.org.cn">site</a>'
    assert to_terminal(html, ansi=False) == "Bold, it & site (https://www.pbccrc.org.cn)"
    assert to_terminal(html, ansi=True) == (
        "\x1b[1mBold\x1b[22m, \x1b[3mit\x1b[23m & site (https://www.pbccrc.org.cn)"
    )


# The same walk through both channels


def walk(content: Content, language: Language) -> list[tuple[str, str]]:
    """A conversation as ('send', text) and ('press', label) steps, identical for both channels."""
    ui = content.ui[language]
    topic, lesson = content.curriculum.lessons()[0]
    steps = [
        ("send", "/start"),
        ("press", ui.btn_agree),
        ("press", ui.btn_profile_start),
        ("press", content.profile.questions[0].options[2].text.get(language)),
        ("press", ui.btn_profile_decline),
        ("press", ui.btn_profile_skip),
        ("press", ui.btn_checkup_skip),
        ("press", topic.title.get(language)),
        ("press", lesson.title.get(language)),
    ]
    steps += [("press", ui.btn_next)] * (len(lesson.cards) - 1)
    steps.append(("press", ui.btn_take_quiz))
    for position, question in enumerate(lesson.quiz):
        chosen = (
            question.correct_index
            if position % 2 == 0
            else (question.correct_index + 1) % len(question.options)
        )
        steps.append(("press", question.options[chosen].text.get(language)))
        last = position == len(lesson.quiz) - 1
        steps.append(("press", ui.btn_see_result if last else ui.btn_next_question))
    steps += [
        ("press", ui.btn_retry_missed),
        ("send", "sticker-like chatter"),
        ("send", "/progress"),
        ("send", "/language"),
        ("press", ui.btn_lang_en if language == "zh" else ui.btn_lang_zh),
    ]
    return steps


def _pick(labels: list[str], label: str) -> int:
    exact = [i for i, text in enumerate(labels) if text == label]
    found = exact or [i for i, text in enumerate(labels) if label in text]
    assert len(found) == 1, (label, labels)
    return found[0]


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_telegram_and_preview_show_the_same_conversation(
    bot: Harness, content: Content, tmp_path: Path, language: Language
) -> None:
    steps = walk(content, language)

    user = bot.resident(
        user_id=3001, first_name="Li", language_code={"zh": "zh-hans", "en": "en"}[language]
    )
    on_telegram: list[Shown] = []
    for kind, value in steps:
        exchange = await (user.send(value) if kind == "send" else user.press(value))
        for call in exchange.calls:
            if call.ok and call.method in ("sendMessage", "editMessageText"):
                markup = call.result.get("reply_markup", {}).get("inline_keyboard", [])
                labels = tuple(b["text"] for row in markup for b in row)
                on_telegram.append(Shown(call.result["text"], labels))

    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/preview.db")
    try:
        tutor = Tutor(content, store, default_language="zh", asker=built_asker(content))
        # The same resident id as on Telegram: options are shuffled per resident.
        visitor = Visitor(id=3001, language_hint=language, name="Li")
        session = PreviewSession(tutor, store, visitor, lambda line: None, ansi=False)
        for kind, value in steps:
            if kind == "send":
                await session.enter(value)
            else:
                number = _pick([b.label for b in session.buttons], value) + 1
                await session.enter(str(number))
    finally:
        await store.close()

    assert len(on_telegram) == len(session.shown) > len(steps) - 2
    for telegram_shown, preview_shown in zip(on_telegram, session.shown, strict=True):
        assert telegram_shown == preview_shown


async def test_a_quiz_answer_and_its_reply_commit_together(
    content: Content, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview runs each line in the core's unit of work, as Telegram does: if its reply
    cannot be recorded, the answer is not recorded either; the replies shown come from the
    outbox, which is left empty."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/preview.db")
    try:
        tutor = Tutor(content, store, default_language="en")
        visitor = Visitor(id=-1, language_hint="en", name="Li")
        session = PreviewSession(tutor, store, visitor, lambda line: None, ansi=False)
        _, lesson = content.curriculum.lessons()[0]
        for line in lesson_script(content, "en")[: 6 + len(lesson.cards)]:
            await session.enter(line)
        question = lesson.quiz[0]
        assert seen(question.prompt.get("en")) in session.shown[-1].text
        real = store.outbox.add

        async def refused(**kwargs: object) -> int:
            raise ConnectionError("disk full")

        monkeypatch.setattr(store.outbox, "add", refused)
        with pytest.raises(NotCommitted):
            await session.enter("1")
        assert (await store.privacy.export(resident_id=-1))["answers"] == []
        monkeypatch.setattr(store.outbox, "add", real)
        await session.enter("1")
        assert len((await store.privacy.export(resident_id=-1))["answers"]) == 1
        assert seen(question.explanation.get("en")) in session.shown[-1].text
        assert await store.outbox.pending() == []
    finally:
        await store.close()


async def test_who_says_so_under_a_quiz_feedback_names_only_the_questions_sources(
    content: Content, tmp_path: Path
) -> None:
    """In the preview as on Telegram: loans-farm-q1 needs no source (no button), loans-farm-q4
    names the Langfang court's warning and only that, not the lesson's other sources."""
    ui = content.ui["en"]
    topic = content.curriculum.topic_of("loans-farm")
    lesson = content.curriculum.lesson("loans-farm")
    assert topic is not None and lesson is not None
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/preview.db")
    try:
        tutor = Tutor(content, store, default_language="en")
        visitor = Visitor(id=-7, language_hint="en", name="Li")
        session = PreviewSession(tutor, store, visitor, lambda line: None, ansi=False)

        async def press(label: str) -> None:
            await session.enter(str(_pick([b.label for b in session.buttons], label) + 1))

        await session.enter("/start")
        for label in (ui.btn_agree, ui.btn_profile_skip, ui.btn_checkup_skip):
            await press(label)
        await press(topic.title.en)
        await press(lesson.title.en)
        for _ in lesson.cards[1:]:
            await press(ui.btn_next)
        await press(ui.btn_take_quiz)
        for question in lesson.quiz:
            await press(question.options[question.correct_index].text.en)
            labels = session.shown[-1].labels
            if question.id == "loans-farm-q1":
                assert question.sources == "none" and ui.btn_source not in labels
            if question.id == "loans-farm-q4":
                await press(ui.btn_source)
                shown = session.shown[-1].text
                assert "Langfang court" in shown
                assert "PBOC Announcement" not in shown and "财农" not in shown
                return
            await press(ui.btn_next_question)
        raise AssertionError("loans-farm-q4 was never reached")
    finally:
        await store.close()
