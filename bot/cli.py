"""The ``finlit`` command: parse the command line, hand off."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.core.checks import (
    LENGTH_CUE_LIMIT,
    LENGTH_CUE_MIN_QUESTIONS,
    label_warnings,
    length_cues,
    load_content,
    review_warnings,
    source_counts,
)
from bot.core.checks.fraud import fraud_tool_warnings
from bot.core.content import ContentError, Problem
from bot.core.content_counts import content_stats
from bot.core.fraud.catalogue import REDFLAGS_FILE
from bot.core.fraud.checker import Checker
from bot.core.i18n import Language
from bot.logs import configure_logging
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.core.admin.stats import Output

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finlit", description="finlit: a finance-literacy tutor")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the Telegram bot (long polling, or a webhook)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve a webhook at WEBHOOK_URL instead of long polling (implied by WEBHOOK_URL)",
    )
    stats = commands.add_parser("stats", help="aggregate literacy statistics (as /stats)")
    stats.add_argument("--cohort", help="a cohort's name or code (default: everyone)")
    stats.add_argument("--format", choices=["text", "json", "csv"], default="text")
    stats.add_argument("--lang", choices=["zh", "en"], help="language of the text report")
    preview = commands.add_parser("preview", help="chat with finlit in the terminal, no Telegram")
    preview.add_argument("--lang", choices=["zh", "en"], help="the resident's language")
    preview.add_argument("--db", help="database URL (default: a SQLite file data/preview.db)")
    preview.add_argument("--as-admin", action="store_true", help="act as the first of ADMIN_IDS")
    preview.add_argument("--name", help="the name to greet the resident with")
    preview.add_argument(
        "--script", type=Path, help="run one input per line and print the transcript"
    )
    scam = commands.add_parser(
        "check", help="check a message on standard input for scam red flags (as /check)"
    )
    scam.add_argument("--lang", choices=["zh", "en"], help="language of the sentences")
    ask = commands.add_parser(
        "ask",
        help="a typed text on standard input: 'urgent' first when it gets the urgent advice, "
        "then up to three lesson ids, best first (as residents who type are answered)",
    )
    ask.add_argument("--lang", choices=["zh", "en"], help="the resident's language")
    scam_eval = commands.add_parser(
        "check-eval", help="the scam checker's precision and recall on the labelled corpus"
    )
    scam_eval.add_argument("--corpus", type=Path, help="default: tests/fixtures/scam_corpus.yaml")
    scam_eval.add_argument(
        "--half", choices=["held", "tune", "all"], default="held", help="default: held"
    )
    scam_eval.add_argument(
        "--misses", action="store_true", help="list disagreements (tuning half only)"
    )
    db = commands.add_parser("db", help="the database: migrate, or copy to another one")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate DATABASE_URL to the latest schema")
    copy = db_commands.add_parser(
        "copy", help="copy DATABASE_URL's data to another database (e.g. SQLite to PostgreSQL)"
    )
    copy.add_argument("--to", required=True, help="the target database URL")
    copy.add_argument(
        "--force", action="store_true", help="replace the target's data if it has any"
    )
    content = commands.add_parser("content", help="check or count the content")
    content_commands = content.add_subparsers(dest="content_command", required=True)
    check = content_commands.add_parser("check", help="validate content; list every problem")
    check.add_argument("directory", nargs="?", type=Path, help="content directory")
    stats = content_commands.add_parser("stats", help="count topics, lessons and questions")
    stats.add_argument("directory", nargs="?", type=Path, help="content directory")
    stats.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        message = error["msg"].removeprefix("Value error, ")
        print(f"finlit: configuration error: {name}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def main(argv: list[str] | None = None) -> int:
    # python-telegram-bot 22 reports durations as timedelta when opted in; the old ints are
    # deprecated and warn on every flood-control answer.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = _parser().parse_args(argv)
    settings = _settings()
    if args.command == "content":
        return _content(args, settings)
    if args.command == "db":
        return _db(args, settings)
    if args.command == "check":
        return _check(args, settings)
    if args.command == "check-eval":
        return _check_eval(args, settings)
    if args.command == "ask":
        return _ask(args, settings)
    if args.command == "preview":
        return _preview(args, settings)
    if args.command == "stats":
        return _stats(args, settings)
    return _run(args, settings)


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.copy import CopyMismatch, TableCopied, TargetNotEmpty, copy_database
    from bot.store.db import create_engine, migrate

    if args.db_command == "upgrade":

        async def upgrade() -> None:
            engine = create_engine(settings.database_url)
            try:
                await migrate(engine)
            finally:
                await engine.dispose()

        asyncio.run(upgrade())
        print("schema is current")
        return 0

    def report(table: TableCopied) -> None:
        print(f"{table.name} {table.rows}", flush=True)

    try:
        asyncio.run(
            copy_database(settings.database_url, args.to, force=args.force, progress=report)
        )
    except TargetNotEmpty as exc:
        print(
            f"finlit: the target database already holds data ({exc}); "
            "copy with --force to replace it",
            file=sys.stderr,
        )
        return 1
    except CopyMismatch as exc:
        print(f"finlit: {exc}", file=sys.stderr)
        return 1
    print("verified: every table has the same rows and sums in both databases")
    return 0


def _preview(args: argparse.Namespace, settings: Settings) -> int:
    from bot.preview.run import PREVIEW_RESIDENT_ID, preview

    resident_id = PREVIEW_RESIDENT_ID
    if args.as_admin:
        if not settings.admin_ids:
            print(
                "finlit: configuration error: ADMIN_IDS: --as-admin needs at least one id",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        resident_id = min(settings.admin_ids)
    if args.script is not None and not args.script.is_file():
        print(f"finlit: no such script: {args.script}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(
            preview(
                settings,
                language=args.lang,
                database_url=args.db,
                resident_id=resident_id,
                name=args.name,
                script=args.script,
            )
        )
    except ContentError as exc:
        return _refuse(exc)


def _content(args: argparse.Namespace, settings: Settings) -> int:
    directory = args.directory or settings.content_dir
    try:
        content = load_content(directory)
    except ContentError as exc:
        print(exc.report(), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    stats = content_stats(content)
    if args.content_command == "check":
        counts = stats["zh"]
        print(
            f"content OK: {counts['topics']} topics, {counts['lessons']} lessons, "
            f"{counts['cards']} cards, {counts['questions']} questions in each language"
        )
        for lang, cues in length_cues(content.curriculum).items():
            # The check that the shares stay under the limit skips a course this small.
            limit = (
                f"at most {LENGTH_CUE_LIMIT:.0%}"
                if cues.questions >= LENGTH_CUE_MIN_QUESTIONS
                else f"not checked below {LENGTH_CUE_MIN_QUESTIONS} questions"
            )
            print(
                f"answer keys ({lang}): correct option unique longest in "
                f"{cues.longest_share:.0%}, unique shortest in {cues.shortest_share:.0%} of "
                f"{cues.questions} questions ({limit})"
            )
        sources = source_counts(content)
        print(
            f"who says so (questions): {sources['named']} name their sources, "
            f"{sources['none']} need none, {sources['lesson_one']} use their lesson's one "
            f"source, {sources['no_source']} have no source"
        )
        # Lessons and questions whose changeable figures are due for a re-check (not a failure).
        for warning in review_warnings(content):
            print(f"warning: {warning}")
        # Answer buttons longer than a glance (not a failure: the hard limit is the button's width).
        for warning in label_warnings(content):
            print(f"warning: {warning}")
        # Time-sensitive figures (the loan calculator's LPR and ceilings) due for a re-check.
        for warning in fraud_tool_warnings(content, dt.date.today()):
            print(f"warning: {warning}")
    elif args.json:
        print(json.dumps(stats, indent=2))
    else:
        for language, counts in stats.items():
            print(language + ": " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _scam_checker(settings: Settings) -> Checker:
    content = load_content(settings.content_dir)
    if content.redflags is None:
        raise ContentError([Problem(REDFLAGS_FILE, "(file)", "the red-flag catalogue is missing")])
    return Checker(content.redflags)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    """One line per red flag in the message on standard input: category id, tab, sentence."""
    try:
        checker = _scam_checker(settings)
    except ContentError as exc:
        return _refuse(exc)
    language = args.lang or settings.default_language
    for category in checker.flags(sys.stdin.read()):
        print(f"{category.id}\t{category.sentence(language)}")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    """'urgent' on the first line when the text gets the urgent advice, then lesson ids."""
    from bot.core.ask.search import build_asker

    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        return _refuse(exc)
    answer = build_asker(content).ask(sys.stdin.read(), args.lang or settings.default_language)
    if answer.urgent:
        print("urgent")
    for suggestion in answer.suggestions:
        print(suggestion.lesson_id)
    return 0


def _check_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Precision and recall per category on a half of the labelled corpus."""
    from bot.core.fraud.evaluation import Corpus, evaluate, report

    if args.misses and args.half != "tune":
        print("finlit: --misses only with --half tune (the held-out half stays unseen)")
        return EXIT_CONFIG
    try:
        checker = _scam_checker(settings)
    except ContentError as exc:
        return _refuse(exc)
    path = args.corpus or Path(__file__).resolve().parents[1] / "tests/fixtures/scam_corpus.yaml"
    corpus = Corpus.load(path)
    half = None if args.half == "all" else args.half
    messages = corpus.half(half)
    evaluation = evaluate(checker, messages)
    title = f"{path.name}, seed {corpus.seed}, half: {args.half} ({len(messages)} messages)"
    print("\n".join(report(evaluation, title=title)))
    if args.misses:
        for miss in evaluation.misses:
            print(
                f"{miss.id}: expected {', '.join(miss.expected) or '-'}; "
                f"found {', '.join(miss.found) or '-'}"
            )
    return 0


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(
            print_stats(
                settings,
                cohort=args.cohort,
                output=args.format,
                language=args.lang or settings.default_language,
            )
        )
    except ContentError as exc:
        return _refuse(exc)


async def print_stats(
    settings: Settings, *, cohort: str | None, output: Output, language: Language
) -> int:
    """``finlit stats``: the same report as /stats, on standard output."""
    from bot.assembly import admin_desk
    from bot.core.admin.stats import Refused, stats_output
    from bot.store import Store

    content = load_content(settings.content_dir)
    store = await Store.open(settings.database_url)
    try:
        desk = admin_desk(settings, content, store)
        printed = await stats_output(desk, language, cohort or "", output)
    finally:
        await store.close()
    if isinstance(printed, Refused):
        print(printed.reason, file=sys.stderr)
        return 1
    sys.stdout.write(printed)
    return 0


def _refuse(error: ContentError) -> int:
    """Print every content problem and the refusal; the exit code for invalid content."""
    print(error.report(), file=sys.stderr)
    print(f"finlit: refusing to start: {len(error.problems)} content problem(s)", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_application  # keeps `content` commands free of telegram imports

    if settings.telegram_bot_token is None:
        print(
            "finlit: configuration error: TELEGRAM_BOT_TOKEN: required to run the bot "
            "(set it in the environment or in .env)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.webhook and settings.webhook_url is None:
        print(
            "finlit: configuration error: WEBHOOK_URL: required for --webhook "
            "(the public https:// URL Telegram sends updates to)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(settings)
    if settings.webhook_url is not None:
        from bot.telegram.webhook import SecretFileError, configured_secret

        # A missing or malformed secret (replicas on PostgreSQL must be given one) is a
        # configuration error: refused before touching the database or Telegram.
        try:
            configured_secret(settings)
        except SecretFileError as exc:
            print(f"finlit: configuration error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    try:
        application = build_application(settings)
    except ContentError as exc:
        return _refuse(exc)
    if settings.webhook_url is None:
        application.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"])
        return 0
    from telegram.error import TelegramError

    from bot.telegram.webhook import ListenError, SecretFileError, serve_webhook

    try:
        asyncio.run(serve_webhook(application, settings))
    except SecretFileError as exc:
        print(f"finlit: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ListenError as exc:
        print(f"finlit: {exc}", file=sys.stderr)
        return 1
    except TelegramError as exc:
        # Through logging, whose filter hides the token (PTB quotes it in InvalidToken).
        logging.getLogger("bot.cli").error("finlit: could not start the webhook: %s", exc)
        return 1
    return 0
