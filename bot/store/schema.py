"""Tables, as SQLAlchemy Core metadata; Alembic migrations must produce exactly this."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A resident is identified by the channel's user id (Telegram's is a 52-bit integer). No names.
residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
    # The privacy notice's version they accepted (content/privacy.yaml) and when; the newest
    # version they were asked about, so news is asked about once, even when they say "not now".
    sa.Column("consent_version", sa.Integer, nullable=True),
    sa.Column("consent_version_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("consent_asked", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    # Optional profile, answered after consent; "no_answer" when the resident preferred not to.
    sa.Column("age_band", sa.String(16), nullable=True),
    sa.Column("resident_type", sa.String(16), nullable=True),
    sa.Column("place", sa.String(32), nullable=True),
    # A cohort link used before consent; membership is recorded only once they consent.
    sa.Column("pending_cohort", sa.String(32), nullable=True),
    # Kept with the lesson it counts, so the median per resident needs no scan of progress.
    sa.Column("lessons_done", sa.Integer, nullable=False, server_default="0"),
    # Set when Telegram says the resident blocked the bot; nothing is sent until they return.
    sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
    # Administrators' announcements (/broadcast) reach the resident unless they turned them off.
    sa.Column("announcements", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index(None, "last_seen_at"),
)

lesson_progress = sa.Table(
    "lesson_progress",
    metadata,
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("lesson_id", sa.String(32), primary_key=True),
    sa.Column("card_index", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    # Statistics per lesson (completion rates) scan by lesson.
    sa.Index(None, "lesson_id", "status"),
)

quiz_attempts = sa.Table(
    "quiz_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("lesson_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    # The questions of this sitting, in order, as a JSON list: content may change later.
    sa.Column("question_ids", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index(None, "resident_id", "finished_at"),
)

answers = sa.Table(
    "answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "attempt_id",
        sa.Integer,
        sa.ForeignKey("quiz_attempts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("lesson_id", sa.String(32), nullable=False),
    sa.Column("question_id", sa.String(32), nullable=False),
    # The option's position in content when answered (not on the screen: options are shuffled).
    sa.Column("option_index", sa.Integer, nullable=False),
    # The option's stable id from content/ (NULL only for an answer stored before option ids
    # whose position migration 0009 could not place).
    sa.Column("option_id", sa.String(24), nullable=True),
    sa.Column("correct", sa.Boolean, nullable=False),
    # 1 for the resident's first answer to this question ever, 2 for the second, ...
    sa.Column("try_number", sa.Integer, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    # One answer per question per sitting: a double press or a redelivered update adds nothing.
    sa.UniqueConstraint("attempt_id", "question_id"),
    # Latest answer per question for a resident (progress), and per question (item analysis).
    sa.Index(None, "resident_id", "question_id", "answered_at"),
    sa.Index(None, "question_id", "correct"),
)

# One sitting of the check-up (baseline or final) and its scores once finished.
assessment_sittings = sa.Table(
    "assessment_sittings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("item_ids", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    # Shares of the maximum (0..1) per dimension, and how often "I don't know" was chosen.
    sa.Column("knowledge_score", sa.Float, nullable=True),
    sa.Column("behaviour_score", sa.Float, nullable=True),
    sa.Column("attitude_score", sa.Float, nullable=True),
    sa.Column("dont_know_count", sa.Integer, nullable=True),
    # The check-up's version when the sitting began: gains compare sittings of one version.
    sa.Column("instrument_version", sa.Integer, nullable=False, server_default="1"),
    sa.Index(None, "resident_id", "kind", "finished_at"),
)

assessment_answers = sa.Table(
    "assessment_answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "sitting_id",
        sa.Integer,
        sa.ForeignKey("assessment_sittings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("item_id", sa.String(32), nullable=False),
    # None when the resident chose "I don't know", which is kept apart from a wrong answer.
    sa.Column("option_index", sa.Integer, nullable=True),
    sa.Column("dont_know", sa.Boolean, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("sitting_id", "item_id"),
    sa.Index(None, "item_id"),
)

# Administrators' cohorts (a lecture, a village, a branch) and who joined them through a link.
cohorts = sa.Table(
    "cohorts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

cohort_members = sa.Table(
    "cohort_members",
    metadata,
    sa.Column(
        "cohort_id", sa.Integer, sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "resident_id"),
)

# Who did what as an administrator, and when.
admin_audit = sa.Table(
    "admin_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("admin_id", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(256), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# Incremental aggregates, updated in the transaction of the answer or progress they count, so
# statistics never scan residents' raw answers. Scope 0 is everyone; any other is a cohort id.
latest_answers = sa.Table(
    "latest_answers",
    metadata,
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("question_id", sa.String(32), primary_key=True),
    sa.Column("lesson_id", sa.String(32), nullable=False),
    sa.Column("first_correct", sa.Boolean, nullable=False),
    sa.Column("latest_correct", sa.Boolean, nullable=False),
    sa.Column("answers", sa.Integer, nullable=False),
)

scope_question_totals = sa.Table(
    "scope_question_totals",
    metadata,
    sa.Column("scope_id", sa.Integer, primary_key=True),
    sa.Column("question_id", sa.String(32), primary_key=True),
    sa.Column("lesson_id", sa.String(32), nullable=False),
    sa.Column("answers", sa.Integer, nullable=False),
    sa.Column("residents", sa.Integer, nullable=False),
    sa.Column("first_try_correct", sa.Integer, nullable=False),
    sa.Column("latest_correct", sa.Integer, nullable=False),
)

scope_lesson_totals = sa.Table(
    "scope_lesson_totals",
    metadata,
    sa.Column("scope_id", sa.Integer, primary_key=True),
    sa.Column("lesson_id", sa.String(32), primary_key=True),
    sa.Column("started", sa.Integer, nullable=False),
    sa.Column("completed", sa.Integer, nullable=False),
)

option_totals = sa.Table(
    "option_totals",
    metadata,
    sa.Column("question_id", sa.String(32), primary_key=True),
    sa.Column("option_id", sa.String(24), primary_key=True),
    sa.Column("chosen", sa.Integer, nullable=False),
)

# Durable inbox: an update is written here before Telegram is told it arrived, and marked done
# in the same transaction as its effects. The payload is erased once done (it may hold texts).
inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    # Whose update it is (the user, else the chat), kept like the payload only until it is
    # handled: a replica handles a resident's earlier updates first, whichever accepted them.
    sa.Column("resident_id", sa.BigInteger, nullable=True),
    sa.Index(None, "done_at"),
    sa.Index(None, "resident_id", "update_id"),
)

# Transactional outbox: what the bot must send, written with the effects that caused it and
# deleted once Telegram has accepted it, so a crash between the two re-sends rather than loses.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # Who goes first when Telegram's limits leave no room for everyone: 0 replies to residents,
    # 1 administrators' replies and reports, 2 bulk messages (see bot/telegram/delivery.py).
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Index(None, "chat_id", "id"),
)

# Small pieces of state the application keeps for itself (e.g. a generated webhook secret).
app_state = sa.Table(
    "app_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Administrators' announcements. A draft waits for the administrator's confirmation; confirming
# writes one delivery row per recipient (in the same transaction as the status "sending"), so the
# job survives a restart and resumes where it stopped. Counters are kept with each delivery.
broadcasts = sa.Table(
    "broadcasts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("admin_id", sa.BigInteger, nullable=False),
    sa.Column("cohort_id", sa.Integer, sa.ForeignKey("cohorts.id"), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    # draft | sending | done | cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("blocked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "status"),
)

# One row per recipient of a confirmed broadcast: pending -> sending (claimed, committed before
# the message goes out) -> sent | failed | blocked | skipped; "unknown" for a claim a crash
# interrupted (never sent again: at most once). Deleted with the resident (/forget).
broadcast_deliveries = sa.Table(
    "broadcast_deliveries",
    metadata,
    sa.Column(
        "broadcast_id",
        sa.Integer,
        sa.ForeignKey("broadcasts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    # The replica (``replicas.id``) that claimed it: a claim of a live replica is never settled
    # as "unknown" by another one (PostgreSQL; NULL on SQLite, which runs one process).
    sa.Column("claimed_by", sa.String(40), nullable=True),
    sa.Index(None, "broadcast_id", "status"),
    sa.Index(None, "resident_id"),
)

# A large file made for an administrator (an answer-level export), stored as compressed chunks
# of its own rather than inside one outbox row: any process (another replica included) can send
# it part by part, and nothing holds the whole file in memory while it is written. Each part is
# one gzip file below Telegram's 50 MB document limit. Purged a day after delivery (housekeeping).
exports = sa.Table(
    "exports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Set when the last part was accepted by Telegram; purged a day later.
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index(None, "delivered_at"),
)

export_parts = sa.Table(
    "export_parts",
    metadata,
    sa.Column(
        "export_id",
        sa.Integer,
        sa.ForeignKey("exports.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("part", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("filename", sa.String(128), nullable=False),
    sa.Column("caption", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
)

export_chunks = sa.Table(
    "export_chunks",
    metadata,
    sa.Column("export_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("part", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.ForeignKeyConstraint(
        ["export_id", "part"],
        ["export_parts.export_id", "export_parts.part"],
        ondelete="CASCADE",
    ),
)

# The loan calculator's conversation (/loan): the step it waits for and what the resident typed
# or chose so far, so a restart or another process carries on. One per resident; a new /loan
# replaces it with a new random token (carried by its buttons, so the old screen's are stale),
# the result deletes it, and housekeeping purges one left idle for a day.
loan_sessions = sa.Table(
    "loan_sessions",
    metadata,
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("token", sa.Integer, nullable=False),
    sa.Column("step", sa.String(16), nullable=False),
    # JSON: the numbers typed and the choices made, by name.
    sa.Column("answers", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "updated_at"),
)

# Spot-the-scam drills (/drill): a resident's first answer to each drill (what /stats counts)
# and when they last answered it (where the next drill follows on from).
drill_answers = sa.Table(
    "drill_answers",
    metadata,
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("drill_id", sa.String(32), primary_key=True),
    # scam | genuine | unsure
    sa.Column("answer", sa.String(8), nullable=False),
    sa.Column("correct", sa.Boolean, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "drill_id", "correct"),
    sa.Index(None, "resident_id", "last_at"),
)

# The scam-message checker (/check, issue 16). A resident who pressed "check a message" or sent
# /check: their next text goes to the checker. One row while it waits, deleted when the text
# comes (or purged by housekeeping); the checked text itself is never stored.
check_waits = sa.Table(
    "check_waits",
    metadata,
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "since"),
)

# Red flags found, for /stats ("checked": messages checked; "none": with no flag). Counts only.
check_counts = sa.Table(
    "check_counts",
    metadata,
    sa.Column("category", sa.String(32), primary_key=True),
    sa.Column("times", sa.Integer, nullable=False),
)

# Typed questions (issue 17) for /stats: asked, answered with a lesson (and its topic), urgent,
# nothing found; ``bot.core.ask.desk``'s tallies. Counts only: no resident, text or time.
ask_counts = sa.Table(
    "ask_counts",
    metadata,
    sa.Column("tally", sa.String(40), primary_key=True),
    sa.Column("times", sa.Integer, nullable=False),
)

# Bot processes sharing a PostgreSQL database (bot/store/replicas.py), each saying it is alive
# every few seconds; what one claimed is taken over once it has been silent for the lease.
replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)

# Which replica sends to a chat (one at a time), and its pacing handed on (epoch seconds).
outbox_claims = sa.Table(
    "outbox_claims",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("replica", sa.String(40), nullable=True),
    sa.Column("tokens", sa.Float, nullable=True),  # its token bucket, counted at ``stamp``
    sa.Column("stamp", sa.Float, nullable=True),
    sa.Column("not_before", sa.Float, nullable=True),  # a 429's retry_after, or a backoff
    sa.Column("released_at", sa.Float, nullable=True),
    sa.Column("group_sends", sa.Text, nullable=True),  # a group's sends in its 20/min window
    sa.Index(None, "replica"),
)

# Telegram's limit per bot, for every replica: the next free send slot and a bot-wide pause.
send_budget = sa.Table(
    "send_budget",
    metadata,
    sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("next_slot", sa.Float, nullable=False),
    sa.Column("paused_until", sa.Float, nullable=False),
)
