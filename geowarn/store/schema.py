"""Database schema (SQLAlchemy 2 ORM) for sites, surveys, runs, cracks, tracks, alerts and deliveries.

Portable by design: plain column types only (geometries are WKB in a binary column, JSON in a
JSON column), so the same schema runs on SQLite and PostgreSQL. Alembic migrations in
``geowarn/store/migrations`` create and evolve it; never call ``create_all`` on a real store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: Constraint names are explicit so migrations are the same on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Survey life cycle: pending → processed (registered and tracked) | flagged (no growth from it) | failed.
SURVEY_STATES = ("pending", "processed", "flagged", "failed")
#: Alert levels, lowest first; "nodata" stands apart (overdue survey or failed processing).
LEVELS = ("green", "yellow", "orange", "red")
ALL_LEVELS = (*LEVELS, "nodata")


def utcnow() -> datetime:
    """Timezone-aware current UTC time."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with explicit constraint names."""

    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    """A monitored slope: one CRS, one rules file, many surveys."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    crs: Mapped[str | None] = mapped_column(Text)  # WKT, hundreds of characters
    config_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Why the site's last monitoring run stopped short (its YAML unreadable...); None once a run went through.
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    surveys: Mapped[list[Survey]] = relationship(back_populates="site", order_by="Survey.acquired_on")


class Survey(Base):
    """One orthomosaic of a site; unique per (site, file sha256)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("site_id", "sha256", name="uq_surveys_site_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    acquired_on: Mapped[date] = mapped_column(Date)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    gsd_m: Mapped[float] = mapped_column(Float)
    crs: Mapped[str] = mapped_column(Text)
    # Registration to the previous processed survey; offsets map this survey into the site frame.
    reference_survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    reg_ok: Mapped[bool | None] = mapped_column(Boolean)
    reg_dx_m: Mapped[float | None] = mapped_column(Float)
    reg_dy_m: Mapped[float | None] = mapped_column(Float)
    reg_residual_m: Mapped[float | None] = mapped_column(Float)
    reg_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    frame_dx_m: Mapped[float | None] = mapped_column(Float)
    frame_dy_m: Mapped[float | None] = mapped_column(Float)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    site: Mapped[Site] = relationship(back_populates="surveys")


class Run(Base):
    """One detection run of a survey, with its provenance manifest."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    out_dir: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    model_version: Mapped[str] = mapped_column(Text)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)


class Track(Base):
    """A crack followed across surveys under one stable id."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | missing | merged
    first_survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    last_survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    parent_track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))
    missed_surveys: Mapped[int] = mapped_column(Integer, default=0)


class Crack(Base):
    """One detected crack of one run; geometries in the site frame (registered), WKB."""

    __tablename__ = "cracks"
    __table_args__ = (UniqueConstraint("run_id", "feature_index", name="uq_cracks_run_feature"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    feature_index: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"), index=True)
    polygon_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    centerline_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    length_m: Mapped[float] = mapped_column(Float)
    length_unc_m: Mapped[float] = mapped_column(Float)
    mean_width_m: Mapped[float] = mapped_column(Float)
    max_width_m: Mapped[float] = mapped_column(Float)
    width_unc_m: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    azimuth_deg: Mapped[float] = mapped_column(Float)
    mean_prob: Mapped[float] = mapped_column(Float)
    centroid_x: Mapped[float] = mapped_column(Float)
    centroid_y: Mapped[float] = mapped_column(Float)


class TrackEvent(Base):
    """What tracking decided for a track in a survey: new, continued, split, joined, merged, missing, reappeared."""

    __tablename__ = "track_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    related_track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id"))


class Growth(Base):
    """Change of one track between two surveys, with 1-sigma uncertainties and significance."""

    __tablename__ = "growth"
    __table_args__ = (UniqueConstraint("track_id", "survey_id", name="uq_growth_track_survey"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    from_survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    days: Mapped[float] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    significant: Mapped[bool] = mapped_column(Boolean)


class Assessment(Base):
    """The site's alert level after one survey (or an overdue check), with the reasons."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("site_id", "trigger_key", name="uq_assessments_site_trigger"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    level: Mapped[str] = mapped_column(String(8))
    candidate_level: Mapped[str] = mapped_column(String(8))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class Alert(Base):
    """A change of a site's level that people are told about; orange/red wait for acknowledgement."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("assessment_id", name="uq_alerts_assessment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    level: Mapped[str] = mapped_column(String(8))
    previous_level: Mapped[str] = mapped_column(String(8))
    requires_ack: Mapped[bool] = mapped_column(Boolean)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(200))
    ack_note: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence_path: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """Transactional outbox row: one alert (or one reminder of it) to one recipient on one channel, sent once.

    ``next_attempt_at`` is when it is due (backoff); ``claimed_by`` / ``claimed_until`` the lease of the
    process sending it now (``geowarn.store.lease``): nobody else may send it while the lease holds.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | cancelled
    reminder: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0: the alert; n: n-th reminder
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_ref: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


#: States of a file in a drop folder: waiting (seen, not yet stable) → ingesting (claimed) → ingested
#: (its survey added) | refused (the reason in ``error``; tried again once the file or the programme changes).
FILE_STATES = ("waiting", "ingesting", "ingested", "refused")


class IngestedFile(Base):
    """The service's ledger of files found in a site's drop folder: each becomes a survey once, across restarts.

    A file is stable when its ``size`` and ``mtime_ns`` have not changed since ``unchanged_since`` for the
    settle period; ``claimed_by`` / ``claimed_until`` lease it to the process ingesting it
    (``geowarn.store.lease``), so two processes never ingest one file.
    """

    __tablename__ = "ingested_files"
    __table_args__ = (UniqueConstraint("site_id", "path", name="uq_ingested_files_site_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    unchanged_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    acquired_on: Mapped[date | None] = mapped_column(Date)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    programme: Mapped[str | None] = mapped_column(String(64))  # fingerprint of the site's programme at a refusal
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ingested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ServiceLock(Base):
    """A named lease (``service``: the one scheduler of a database), renewed by its holder while it runs."""

    __tablename__ = "service_locks"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobResult(Base):
    """The last run of each scheduled job (``geowarn jobs list``)."""

    __tablename__ = "job_results"

    job_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed | stopped
    message: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(200))


#: APScheduler's job store (``SQLAlchemyJobStore``), created by the migrations like every other table:
#: the same columns as APScheduler 3 defines, so that its own ``create(checkfirst=True)`` finds it there.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


#: Dashboard roles, least privilege first: viewers look, geologists also acknowledge, admins manage users.
ROLES = ("viewer", "geologist", "admin")


class User(Base):
    """A dashboard user: a name, a role, the sites it may see and an argon2 password hash (never the password)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    #: Site ids this user may see, comma-separated; None: every site.
    sites: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser: the sha256 of its cookie token (the token itself is never stored) and its CSRF token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
