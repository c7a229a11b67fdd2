"""Record a site's assessment: its level after a survey (or a "no data" event) and why.

Runs inside the caller's transaction, together with the survey's cracks and tracks. Later
assessments read the earlier ones back for persistence and hysteresis (:func:`recent_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geowarn.assess.levels import Previous
from geowarn.store.schema import Assessment, Site, Survey

#: Earlier assessments read back for persistence and hysteresis.
HISTORY = 10


@dataclass(frozen=True)
class AssessmentInput:
    """What a new assessment says: its level, the unconfirmed candidate, the detail, and its trigger."""

    level: str
    candidate: str
    detail: dict[str, Any]
    trigger_key: str
    survey: Survey | None


def current_levels(session: Session, site_id: int) -> tuple[str, str]:
    """(last level including "nodata", last level from a real survey) of a site; green when none."""
    last = session.scalar(
        select(Assessment).where(Assessment.site_id == site_id).order_by(Assessment.id.desc()).limit(1)
    )
    real = session.scalar(
        select(Assessment)
        .where(Assessment.site_id == site_id, Assessment.level != "nodata")
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    return (last.level if last else "green", real.level if real else "green")


def recent_history(session: Session, site_id: int) -> list[Previous]:
    """The site's latest assessments that had a survey (no "no data" ones), most recent first."""
    return [
        Previous.from_detail(a.level, a.candidate_level, a.detail)
        for a in session.scalars(
            select(Assessment)
            .where(Assessment.site_id == site_id, Assessment.survey_id.is_not(None), Assessment.level != "nodata")
            .order_by(Assessment.id.desc())
            .limit(HISTORY)
        )
    ]


def unused_trigger_key(session: Session, site_id: int, base: str) -> str:
    """``base``, or ``base:2``, ``base:3``... when it is taken (a survey that failed, then was retried).

    Only for triggers made idempotent by something else (a survey's change of status in the same
    transaction): the key then just has to be new.
    """
    taken = set(
        session.scalars(
            select(Assessment.trigger_key).where(
                Assessment.site_id == site_id, Assessment.trigger_key.startswith(base, autoescape=True)
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}:{n}" in taken:
        n += 1
    return f"{base}:{n}"


def record_assessment(session: Session, site: Site, data: AssessmentInput) -> tuple[Assessment, str]:
    """Store the assessment; returns it with the site's level before it (a change of level raises an alert)."""
    previous_level, _ = current_levels(session, site.id)
    assessment = Assessment(
        site_id=site.id,
        survey_id=data.survey.id if data.survey else None,
        trigger_key=data.trigger_key,
        level=data.level,
        candidate_level=data.candidate,
        detail=data.detail,
    )
    session.add(assessment)
    session.flush()
    return assessment, previous_level
