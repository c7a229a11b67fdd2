"""Leases on deliveries, site errors, and CRS columns wide enough for WKT.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00

* ``deliveries.claimed_by`` / ``claimed_until``: the lease of the process sending a row, apart from
  ``next_attempt_at`` (the backoff), so that no flush mode can send a row another process holds.
* ``sites.error`` / ``error_at``: why the site's last monitoring run stopped short.
* ``sites.crs`` and ``surveys.crs`` become TEXT: a CRS's WKT has hundreds of characters.

Rows are kept as they are (batch mode copies each table on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("error_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("crs", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True)
    with op.batch_alter_table("surveys") as batch:
        batch.alter_column("crs", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.alter_column("crs", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=False)
    with op.batch_alter_table("sites") as batch:
        batch.alter_column("crs", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True)
        batch.drop_column("error_at")
        batch.drop_column("error")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
