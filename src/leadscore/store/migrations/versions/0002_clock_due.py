"""scores follow the clock: due moments, stored probability, coalesced score_changed webhooks

Revision ID: clock_due
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "clock_due"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = "event = 'lead.score_changed' AND status = 'pending' AND attempts = 0"


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_us", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("claimed_until_us", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("probability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("probability_factors", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("predictive_version", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_due_us"), ["due_us"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_probability"), ["probability"], unique=False)
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "uq_webhook_deliveries_score_changed",
            ["webhook_id", "contact_id"],
            unique=True,
            sqlite_where=sa.text(PENDING),
            postgresql_where=sa.text(PENDING),
        )
    # Contacts scored before this revision have no due moment yet: rescore them
    # once (the scorer does, as for any dirty contact) so they start following
    # the clock.
    op.execute("UPDATE contacts SET dirty = dirty + 1 WHERE scored_as_of_us IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("uq_webhook_deliveries_score_changed")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_probability"))
        batch_op.drop_index(batch_op.f("ix_contacts_due_us"))
        batch_op.drop_column("predictive_version")
        batch_op.drop_column("probability_factors")
        batch_op.drop_column("probability")
        batch_op.drop_column("claimed_until_us")
        batch_op.drop_column("due_us")
