"""Consent that keeps up: which version of the privacy notice each resident accepted, and when.

Residents who consented before this revision accepted version 1 (the notice as it was), at the
time they consented; they have been asked about nothing newer yet.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("consent_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("consent_version_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("consent_asked", sa.Integer, nullable=True))
    residents = sa.table(
        "residents",
        sa.column("consent_at", sa.DateTime(timezone=True)),
        sa.column("consent_version", sa.Integer),
        sa.column("consent_version_at", sa.DateTime(timezone=True)),
        sa.column("consent_asked", sa.Integer),
    )
    op.execute(
        residents.update()
        .where(residents.c.consent_at.is_not(None))
        .values(
            consent_version=1,
            consent_version_at=residents.c.consent_at,
            consent_asked=1,
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("consent_asked")
        batch.drop_column("consent_version_at")
        batch.drop_column("consent_version")
