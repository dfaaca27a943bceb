"""Stored quiz answers follow their options to the positions commit edb2d8d moved them to.

An answer is stored as the position of the option the resident chose (``answers.option_index``,
and the tallies ``option_totals``). Commit edb2d8d ("the correct option no longer D in most")
reordered the options of twelve questions in content/topics/; an answer stored before it would
now point at another option's text, and the first-try-wrong options of /items, the exports and a
resident's own earlier choice would name the wrong option. This migration moves every stored
position of those twelve questions so that it points at the same option as when it was chosen.

``NEW_POSITION_TO_OLD`` is the one record of the reordering: for each question, the list index is
the option's position since edb2d8d and the value its position before. It was checked against
git, matching every option by its text, its feedback or else its closest wording between
consecutive commits: no commit before edb2d8d (from the first one through c143024 to edb2d8d's
parent) and none after it (abb5e80 only rewrote option texts) moved an option of any question that
kept its id; edb2d8d moved exactly these twelve, and in each the correct option was D (3) before
and stays correct after.

Not remapped, because they cannot be: six questions were *replaced* under the same id between
c143024 and edb2d8d (pay-mistakes-q5, fraud-types-q5, credit-repair-q6, ecny-wallet-q2,
pandao-basics-q5, pandao-basics-q6). Their old answers were to another question, and no option
of the new one corresponds to an old one; they are left as they are. A few questions also had
a wrong option replaced in place (e.g. the distractor 95188 by 12381 in rights-complain-q3
and elderly-health-q6): the position, and that it was wrong, stay true.

Assumption: every stored answer to the twelve questions was chosen with the options in their old
order, i.e. the database was last served with content from before edb2d8d (as c143024). A
database that already served the reordered content before this migration ran would have its
newer answers moved wrongly; the content and this revision are meant to be deployed together.
The migration reads no content file (CONTENT_DIR may point anywhere): only the table below.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# question id -> [old index of the option now at position 0, 1, 2, 3]
NEW_POSITION_TO_OLD: dict[str, tuple[int, ...]] = {
    "pay-codes-q5": (3, 0, 1, 2),
    "fraud-types-q4": (3, 0, 1, 2),
    "ecny-wallet-q4": (3, 0, 1, 2),
    "insurance-farm-q4": (3, 0, 1, 2),
    "rights-info-q4": (3, 0, 1, 2),
    "elderly-setup-q5": (3, 0, 1, 2),
    "fraud-react-q6": (0, 3, 1, 2),
    "ecny-2026-q4": (0, 3, 1, 2),
    "insurance-city-q4": (0, 3, 1, 2),
    "rights-complain-q4": (0, 3, 1, 2),
    "elderly-health-q2": (0, 3, 1, 2),
    "newcity-credit-q4": (0, 1, 3, 2),
}

# Every table that stores an option's position, keyed by question id. (assessment_answers holds
# check-up items, whose options did not move; no other table or aggregate keeps a position.)
TABLES = ("answers", "option_totals")

# option_totals has (question_id, option_index) as its primary key, and both SQLite and
# PostgreSQL check it row by row during an UPDATE: a permutation in one statement could collide
# with a row not yet moved. So positions go to OFFSET + target first, then back down.
OFFSET = 1000


def _move(moves: dict[str, dict[int, int]]) -> None:
    """Move each question's stored positions old -> new, in every table that stores them."""
    for name in TABLES:
        table = sa.table(
            name, sa.column("question_id", sa.String), sa.column("option_index", sa.Integer)
        )
        position = table.c.option_index
        for question_id, move in moves.items():
            of_question = table.c.question_id == question_id
            # A plain CASE in an UPDATE, which SQLite and PostgreSQL both take; a position not
            # in the map (none should exist) goes up and comes back unchanged.
            op.execute(
                table.update()
                .where(of_question)
                .values(option_index=sa.case(move, value=position, else_=position) + OFFSET)
            )
            op.execute(
                table.update()
                .where(of_question, position >= OFFSET)
                .values(option_index=position - OFFSET)
            )


def upgrade() -> None:
    _move(
        {
            question_id: {old: new for new, old in enumerate(order)}
            for question_id, order in NEW_POSITION_TO_OLD.items()
        }
    )


def downgrade() -> None:
    _move(
        {question_id: dict(enumerate(order)) for question_id, order in NEW_POSITION_TO_OLD.items()}
    )
