"""The UI string catalogue: every menu, button, notice and label, per language.

Each key is a field, so a missing or misspelt key in an author's file is a load error with its
location, and the code can only ask for keys that exist. Strings are plain text; templates add
formatting and escape them. ``{name}``-style placeholders are filled with ``str.format``.
"""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, field_validator


class CommandTexts(BaseModel):
    """Descriptions shown in Telegram's command menu (setMyCommands)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    menu: str
    check: str
    drill: str
    loan: str
    progress: str
    language: str
    help: str
    checkup: str
    mydata: str
    forget: str
    settings: str


class AdminCommandTexts(BaseModel):
    """Descriptions of the administrators' commands, added to their own command menu only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cohort: str
    cohorts: str
    stats: str
    items: str
    export: str
    broadcast: str


class AdminTexts(BaseModel):
    """What administrators read: cohort links, statistics, item analysis, exports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commands: AdminCommandTexts

    cohort_usage: str
    cohort_created: str
    cohort_qr_caption: str
    cohorts_title: str
    cohorts_line: str
    cohorts_empty: str
    unknown_cohort: str
    cohort_too_small: str
    cohort_too_close: str
    scope_all: str
    stats_title: str
    reach_heading: str
    reach_line: str
    depth_heading: str
    depth_line: str
    median_line: str
    mastery_heading: str
    mastery_line: str
    hardest_heading: str
    hardest_line: str
    assessment_heading: str
    assessment_line: str
    dont_know_line: str
    breakdown_heading: str
    breakdown_line: str
    breakdown_age_band: str
    breakdown_resident_type: str
    group_not_given: str
    group_no_answer: str
    suppressed_note: str
    hidden: str
    withheld: str  # a figure withheld only because it would give a small one away
    none: str
    chart_title: str
    chart_first_try: str
    chart_latest: str
    chart_axis: str
    chart_caption: str
    items_title: str
    items_line: str
    items_none: str
    unknown_topic: str
    export_aggregates_caption: str
    export_answers_caption: str
    export_needs_key: str
    export_too_few: str
    export_too_large: str
    export_part: str
    # Broadcasts (/broadcast)
    broadcast_usage: str
    broadcast_too_long: str
    broadcast_nobody: str
    broadcast_preview: str
    btn_broadcast_send: str
    btn_broadcast_cancel: str
    broadcast_started: str
    broadcast_already: str
    broadcast_cancelled: str
    broadcast_progress: str
    broadcast_done: str
    # Ask in your own words (issue 17): counts only, not per cohort
    ask_heading: str
    ask_asked_line: str
    ask_urgent_line: str
    ask_topic_line: str
    ask_not_per_cohort: str

    def placeholders(self) -> dict[str, set[str]]:
        return {
            key: {name for _, name, _, _ in string.Formatter().parse(value) if name}
            for key, value in self
            if isinstance(value, str)
        }


class UiTexts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Buttons
    btn_lessons: str
    btn_continue: str
    btn_progress: str
    btn_help: str
    btn_language: str
    btn_menu: str
    btn_topics: str
    btn_back: str
    btn_next: str
    btn_take_quiz: str
    btn_next_question: str
    btn_see_result: str
    btn_retry_missed: str
    btn_retake_quiz: str
    btn_next_lesson: str
    btn_reread_lesson: str
    btn_agree: str
    btn_lang_zh: str
    btn_lang_en: str
    btn_forget_confirm: str
    btn_forget_cancel: str
    # Marks in front of topics and lessons
    mark_done: str
    mark_started: str
    mark_new: str
    # Onboarding and privacy
    welcome_hello: str
    welcome_intro: str
    welcome_unknown_link: str
    privacy_title: str
    privacy_notice: str
    consent_needed: str
    consent_thanks: str
    # Menus and navigation
    menu_prompt: str
    topics_prompt: str
    topic_lessons_prompt: str
    lesson_minutes: str
    card_position: str
    lesson_finished: str
    nothing_to_continue: str
    all_lessons_done: str
    # Quiz
    question_position: str
    answer_right: str
    answer_wrong: str
    your_answer: str
    right_answer: str
    why: str
    quiz_score: str
    quiz_all_right: str
    quiz_missed_heading: str
    quiz_encourage: str
    # "Who says so": a lesson's or a question's sources, under a card or a quiz feedback
    btn_source: str
    sources_title: str
    # The check-up (before/after assessment)
    btn_checkup: str
    btn_checkup_start: str
    btn_checkup_skip: str
    btn_dont_know: str
    checkup_offer_baseline: str
    checkup_offer_final: str
    checkup_resume: str
    checkup_position: str
    checkup_result_title: str
    checkup_dimension_knowledge: str
    checkup_dimension_behaviour: str
    checkup_dimension_attitude: str
    checkup_score_line: str
    checkup_change_line: str
    checkup_dont_know: str
    checkup_first_done: str
    checkup_final_done: str
    checkup_study_next: str
    checkup_all_known: str
    # Progress
    progress_title: str
    progress_topic_line: str
    progress_mastery: str
    progress_overall: str
    progress_explained: str
    progress_empty: str
    # Language, help, privacy controls
    language_prompt: str
    language_set: str
    help_text: str
    mydata_caption: str
    forget_prompt: str
    forget_done: str
    forget_cancelled: str
    # Problems and pointers
    stale_button: str
    already_answered: str
    chatter_pointer: str
    group_pointer: str
    btn_private_chat: str
    error_apology: str
    # Busy moments (a lecture hall): short answers to a press, and a notice for a burst
    press_unchanged: str
    press_received: str
    one_moment_toast: str
    # Ask in your own words (issue 17): typed questions, and help at the worst moment
    btn_scammed: str
    btn_ask_lesson: str
    ask_urgent_stop: str
    ask_urgent_110: str
    ask_urgent_96110: str
    ask_found: str
    ask_nothing: str
    # The terminal preview (finlit preview)
    preview_hint: str
    preview_default_name: str
    preview_no_such_button: str
    preview_document: str
    # Optional profile questions after consent
    btn_profile_start: str
    btn_profile_skip: str
    btn_profile_decline: str
    profile_intro: str
    profile_position: str
    cohort_joined: str
    # Settings (/settings) and administrators' announcements
    btn_announcements_off: str
    btn_announcements_on: str
    btn_stop_announcements: str
    settings_title: str
    settings_announcements_on: str
    settings_announcements_off: str
    announcements_turned_off: str
    announcements_turned_on: str
    # Consent that keeps up: a newer privacy notice, asked about once (content/privacy.yaml)
    btn_notice_agree: str
    btn_notice_later: str
    btn_notice_review: str
    notice_update_intro: str
    notice_update_question: str
    notice_update_agreed: str
    notice_update_later: str
    settings_notice_news: str
    # Administrators
    admin: AdminTexts
    # Telegram's command menu
    commands: CommandTexts

    @field_validator("*", mode="after")
    @classmethod
    def _not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    def placeholders(self) -> dict[str, set[str]]:
        """Placeholder names used by each string, for comparing languages."""
        found: dict[str, set[str]] = {}
        for key, value in self:
            if isinstance(value, str):
                found[key] = {name for _, name, _, _ in string.Formatter().parse(value) if name}
        for key, names in self.admin.placeholders().items():
            found[f"admin.{key}"] = names
        return found


def button_keys() -> list[str]:
    """Catalogue keys whose text is shown on a button."""
    return [key for key in UiTexts.model_fields if key.startswith(("btn_", "mark_"))]
