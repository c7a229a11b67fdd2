"""The survey-ingestion service: its file ledger, locks, job results and APScheduler's job store.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 18:00:00

* ``ingested_files``: each file found in a site's drop folder, its size and mtime while it settles,
  and the survey it became (exactly once, across restarts).
* ``service_locks``: named leases; ``service`` is held by the one scheduler of a database.
* ``job_results``: the last run of each scheduled job (``geowarn jobs list``).
* ``apscheduler_jobs``: APScheduler's ``SQLAlchemyJobStore`` table, with APScheduler's own columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingested_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unchanged_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acquired_on", sa.Date(), nullable=True),
        sa.Column("survey_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("programme", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name="fk_ingested_files_site_id_sites", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name="fk_ingested_files_survey_id_surveys", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ingested_files"),
        sa.UniqueConstraint("site_id", "path", name="uq_ingested_files_site_path"),
    )
    op.create_index("ix_ingested_files_site_id", "ingested_files", ["site_id"])
    op.create_table(
        "service_locks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_locks"),
    )
    op.create_table(
        "job_results",
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name="pk_job_results"),
    )
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_apscheduler_jobs"),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])


def downgrade() -> None:
    op.drop_index("ix_apscheduler_jobs_next_run_time", table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
    op.drop_table("job_results")
    op.drop_table("service_locks")
    op.drop_index("ix_ingested_files_site_id", table_name="ingested_files")
    op.drop_table("ingested_files")
