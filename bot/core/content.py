"""Parsing what authors edit under ``content/``: curriculum, UI catalogues and templates.

Parsing collects every problem it finds (not just the first) so an author can fix a file in one
pass; ``parse_content`` raises ``ContentError`` carrying them all. Content is served only once
``bot.core.checks.load_content`` has also checked it (its texts and every rendered screen).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import yaml
from markupsafe import Markup
from pydantic import BaseModel, ValidationError

from bot.core.ask.book import ASK_FILE, AskBook
from bot.core.assessment import Assessment
from bot.core.consent import PrivacyNotice
from bot.core.curriculum import Curriculum, Published, Topic
from bot.core.fraud.catalogue import REDFLAGS_FILE, RedFlags
from bot.core.fraud.drill_book import DRILL_FILE, DrillBook
from bot.core.fraud.loan_book import LOANS_FILE, LoanBook
from bot.core.i18n import LANGUAGES, Language
from bot.core.profile import Profile
from bot.core.ui import UiTexts
from bot.core.yaml_text import load_yaml

M = TypeVar("M", bound=BaseModel)
PUBLISHED_FILE = "published.yaml"


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    file: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.message}"


class ContentError(Exception):
    """Content that must not be served; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} content problem(s)")

    def report(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


@dataclasses.dataclass(frozen=True)
class Content:
    """Everything a channel needs to show finlit: curriculum, UI texts and templates."""

    root: Path
    curriculum: Curriculum
    assessment: Assessment
    profile: Profile
    privacy: PrivacyNotice  # the notice's versions and what each adds (content/privacy.yaml)
    ui: Mapping[Language, UiTexts]
    templates: jinja2.Environment
    # Which file each topic came from, so later checks can name it.
    topic_files: Mapping[str, str]
    # The fraud tools' data (issue 16): drills.yaml and loans.yaml, when the content has them.
    drills: DrillBook | None = None
    loans: LoanBook | None = None
    # The scam-message checker's red flags (issue 16): redflags.yaml, when the content has it.
    redflags: RedFlags | None = None
    # published.yaml: every lesson and question id ever published, aliases, check-up versions
    # (None for a content directory that has published nothing yet, such as a test fixture).
    published: Published | None = None
    # "Ask in your own words" (issue 17): synonyms and danger phrases (ask.yaml), when present.
    ask: AskBook | None = None

    def render(self, template: str, language: Language, **context: Any) -> str:
        """Render a template with the language's UI catalogue available as ``ui``."""
        text = self.templates.get_template(template).render(
            ui=self.ui[language], lang=language, **context
        )
        return text.strip()


def _format(value: str, **fields: Any) -> str:
    return value.format(**fields)


def make_environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["fmt"] = _format
    return env


def describe_location(loc: tuple[int | str, ...], raw: Any) -> str:
    """Turn a pydantic error location into an author-friendly path, naming items by their id."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            label = item.get("id") if isinstance(item, dict) else None
            parts.append(f"[{label}]" if isinstance(label, str) else f"[{key + 1}]")
            node = item
        else:
            parts.append(f".{key}" if parts else key)
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top)"


def _validation_problems(file: str, error: ValidationError, raw: Any) -> list[Problem]:
    problems = []
    for detail in error.errors():
        message = detail["msg"].removeprefix("Value error, ")
        problems.append(Problem(file, describe_location(detail["loc"], raw), message))
    return problems


def _read_yaml(path: Path, rel: str, problems: list[Problem]) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problems.append(Problem(rel, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, "(file)", f"cannot be read: {exc}"))
    return None


def _parse(model: type[M], raw: Any, rel: str, problems: list[Problem]) -> M | None:
    if not isinstance(raw, dict):
        problems.append(Problem(rel, "(top)", "expected a mapping of fields"))
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(rel, exc, raw))
        return None


def _load_file(
    root: Path, rel: str, model: type[M], problems: list[Problem], missing: str
) -> M | None:
    """One required YAML file parsed into ``model``; problems are collected, not raised."""
    path = root / rel
    if not path.is_file():
        problems.append(Problem(rel, "(file)", missing))
        return None
    raw = _read_yaml(path, rel, problems)
    return _parse(model, raw, rel, problems) if raw is not None else None


def _load_optional(root: Path, rel: str, model: type[M], problems: list[Problem]) -> M | None:
    """An optional YAML file parsed into ``model``; None when the file is not there."""
    if not (root / rel).is_file():
        return None
    raw = _read_yaml(root / rel, rel, problems)
    return _parse(model, raw, rel, problems) if raw is not None else None


def _unique_ids(parsed: Sequence[tuple[str, Topic]]) -> list[Problem]:
    """Ids must be unique across all files: they name lessons and questions in stored data."""
    seen: dict[str, str] = {}
    problems = []
    for file, topic in parsed:
        items = [("topic", topic.id, "id")]
        for lesson in topic.lessons:
            items.append(("lesson", lesson.id, f"lessons[{lesson.id}].id"))
            items += [
                ("question", q.id, f"lessons[{lesson.id}].quiz[{q.id}].id") for q in lesson.quiz
            ]
        for kind, item_id, location in items:
            key = f"{kind}:{item_id}"
            if key in seen:
                problems.append(
                    Problem(file, location, f"{kind} id '{item_id}' is already used in {seen[key]}")
                )
            else:
                seen[key] = file
    return problems


def parse_content(root: Path) -> Content:
    """Parse the content directory, not yet checked (``bot.core.checks.load_content`` checks
    it); raise ContentError listing every problem found."""
    root = root.resolve()
    problems: list[Problem] = []
    if not root.is_dir():
        raise ContentError([Problem(str(root), "(directory)", "content directory not found")])

    parsed: list[tuple[str, Topic]] = []
    topic_paths = sorted((root / "topics").glob("*.yaml"))
    if not topic_paths:
        problems.append(Problem("topics/", "(directory)", "no topic files (*.yaml) found"))
    for path in topic_paths:
        rel = path.relative_to(root).as_posix()
        raw = _read_yaml(path, rel, problems)
        if raw is None and not problems:
            problems.append(Problem(rel, "(top)", "file is empty"))
        topic = _parse(Topic, raw, rel, problems) if raw is not None else None
        if topic is not None:
            parsed.append((rel, topic))
    problems.extend(_unique_ids(parsed))

    assessment = _load_file(
        root, "assessment.yaml", Assessment, problems, "the check-up instrument is missing"
    )
    profile = _load_file(
        root, "profile.yaml", Profile, problems, "the profile questions are missing"
    )
    privacy = _load_file(
        root, "privacy.yaml", PrivacyNotice, problems, "the privacy notice's versions are missing"
    )

    published = None
    if (root / PUBLISHED_FILE).is_file():
        published = _load_file(root, PUBLISHED_FILE, Published, problems, "")

    ui: dict[Language, UiTexts] = {}
    for language in LANGUAGES:
        path = root / "ui" / f"{language}.yaml"
        rel = f"ui/{language}.yaml"
        if not path.is_file():
            problems.append(Problem(rel, "(file)", f"UI catalogue for '{language}' is missing"))
            continue
        raw = _read_yaml(path, rel, problems)
        texts = _parse(UiTexts, raw, rel, problems) if raw is not None else None
        if texts is not None:
            ui[language] = texts

    drills = _load_optional(root, DRILL_FILE, DrillBook, problems)
    loans = _load_optional(root, LOANS_FILE, LoanBook, problems)
    redflags = _load_optional(root, REDFLAGS_FILE, RedFlags, problems)
    ask = _load_optional(root, ASK_FILE, AskBook, problems)

    templates = make_environment(root / "templates")
    for name in sorted(p.name for p in (root / "templates").glob("*.j2")):
        try:
            templates.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(f"templates/{name}", f"line {exc.lineno}", exc.message or ""))

    if problems or assessment is None or profile is None or privacy is None:
        raise ContentError(problems)

    topics = sorted((topic for _, topic in parsed), key=lambda t: (t.order, t.id))
    content = Content(
        root=root,
        curriculum=Curriculum(
            topics=tuple(topics), aliases=published.aliases if published is not None else {}
        ),
        assessment=assessment,
        profile=profile,
        privacy=privacy,
        ui=ui,
        templates=templates,
        topic_files={topic.id: rel for rel, topic in parsed},
        drills=drills,
        loans=loans,
        published=published,
        redflags=redflags,
        ask=ask,
    )
    return content


def trusted(html: str) -> Markup:
    """Mark author-written HTML as safe; only content that passed the checks may use this."""
    return Markup(html)
