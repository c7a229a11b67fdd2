"""Initial schema: sites, surveys, runs, cracks, tracks, growth, assessments, alerts, deliveries.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21 14:10:35.744899
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("crs", sa.String(length=64), nullable=True),
        sa.Column("config_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("slug", name=op.f("uq_sites_slug")),
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("acquired_on", sa.Date(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("gsd_m", sa.Float(), nullable=False),
        sa.Column("crs", sa.String(length=64), nullable=False),
        sa.Column("reference_survey_id", sa.Integer(), nullable=True),
        sa.Column("reg_ok", sa.Boolean(), nullable=True),
        sa.Column("reg_dx_m", sa.Float(), nullable=True),
        sa.Column("reg_dy_m", sa.Float(), nullable=True),
        sa.Column("reg_residual_m", sa.Float(), nullable=True),
        sa.Column("reg_detail", sa.JSON(), nullable=True),
        sa.Column("frame_dx_m", sa.Float(), nullable=True),
        sa.Column("frame_dy_m", sa.Float(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference_survey_id"], ["surveys.id"], name=op.f("fk_surveys_reference_survey_id_surveys")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_surveys_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("site_id", "sha256", name="uq_surveys_site_sha256"),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveys_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_status"), ["status"], unique=False)

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=True),
        sa.Column("trigger_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("candidate_level", sa.String(length=8), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_assessments_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_assessments_survey_id_surveys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint("site_id", "trigger_key", name="uq_assessments_site_trigger"),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_site_id"), ["site_id"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_runs_survey_id_surveys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_survey_id", sa.Integer(), nullable=False),
        sa.Column("last_survey_id", sa.Integer(), nullable=False),
        sa.Column("parent_track_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("missed_surveys", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["first_survey_id"], ["surveys.id"], name=op.f("fk_tracks_first_survey_id_surveys")),
        sa.ForeignKeyConstraint(["last_survey_id"], ["surveys.id"], name=op.f("fk_tracks_last_survey_id_surveys")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["tracks.id"], name=op.f("fk_tracks_merged_into_id_tracks")),
        sa.ForeignKeyConstraint(["parent_track_id"], ["tracks.id"], name=op.f("fk_tracks_parent_track_id_tracks")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_tracks_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
    )
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracks_site_id"), ["site_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("previous_level", sa.String(length=8), nullable=False),
        sa.Column("requires_ack", sa.Boolean(), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(length=200), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("evidence_path", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessments.id"], name=op.f("fk_alerts_assessment_id_assessments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_alerts_site_id_sites"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("assessment_id", name="uq_alerts_assessment"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_site_id"), ["site_id"], unique=False)

    op.create_table(
        "cracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("feature_index", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("polygon_wkb", sa.LargeBinary(), nullable=False),
        sa.Column("centerline_wkb", sa.LargeBinary(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("length_unc_m", sa.Float(), nullable=False),
        sa.Column("mean_width_m", sa.Float(), nullable=False),
        sa.Column("max_width_m", sa.Float(), nullable=False),
        sa.Column("width_unc_m", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("azimuth_deg", sa.Float(), nullable=False),
        sa.Column("mean_prob", sa.Float(), nullable=False),
        sa.Column("centroid_x", sa.Float(), nullable=False),
        sa.Column("centroid_y", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_cracks_run_id_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_cracks_survey_id_surveys"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["track_id"], ["tracks.id"], name=op.f("fk_cracks_track_id_tracks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cracks")),
        sa.UniqueConstraint("run_id", "feature_index", name="uq_cracks_run_feature"),
    )
    with op.batch_alter_table("cracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cracks_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cracks_survey_id"), ["survey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cracks_track_id"), ["track_id"], unique=False)

    op.create_table(
        "growth",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("from_survey_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("significant", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["from_survey_id"], ["surveys.id"], name=op.f("fk_growth_from_survey_id_surveys")),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_growth_survey_id_surveys"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["tracks.id"], name=op.f("fk_growth_track_id_tracks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth")),
        sa.UniqueConstraint("track_id", "survey_id", name="uq_growth_track_survey"),
    )
    with op.batch_alter_table("growth", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_growth_survey_id"), ["survey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_growth_track_id"), ["track_id"], unique=False)

    op.create_table(
        "track_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("related_track_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["related_track_id"], ["tracks.id"], name=op.f("fk_track_events_related_track_id_tracks")
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name=op.f("fk_track_events_survey_id_surveys"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["tracks.id"], name=op.f("fk_track_events_track_id_tracks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_events")),
    )
    with op.batch_alter_table("track_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_track_events_survey_id"), ["survey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_track_events_track_id"), ["track_id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_ref", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_deliveries_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_deliveries_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_deliveries_alert_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("track_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_track_events_track_id"))
        batch_op.drop_index(batch_op.f("ix_track_events_survey_id"))

    op.drop_table("track_events")
    with op.batch_alter_table("growth", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_growth_track_id"))
        batch_op.drop_index(batch_op.f("ix_growth_survey_id"))

    op.drop_table("growth")
    with op.batch_alter_table("cracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cracks_track_id"))
        batch_op.drop_index(batch_op.f("ix_cracks_survey_id"))
        batch_op.drop_index(batch_op.f("ix_cracks_run_id"))

    op.drop_table("cracks")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_site_id"))

    op.drop_table("alerts")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_site_id"))

    op.drop_table("tracks")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_survey_id"))

    op.drop_table("runs")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_site_id"))

    op.drop_table("assessments")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surveys_status"))
        batch_op.drop_index(batch_op.f("ix_surveys_site_id"))

    op.drop_table("surveys")
    op.drop_table("sites")
