"""Lookups that several stages make in the store."""

from __future__ import annotations

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from geowarn.errors import ConfigError
from geowarn.store.schema import Site, Survey


def get_site(session: Session, slug: str) -> Site:
    """The site called ``slug``.

    Raises:
        ConfigError: no such site (the message lists the known ones).

    """
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        known = ", ".join(session.scalars(select(Site.slug).order_by(Site.slug))) or "none yet"
        raise ConfigError(f"site {slug!r} does not exist (known: {known}); create it with: geowarn site add {slug}")
    return site


def lock_site(session: Session, slug: str) -> Site:
    """The site called ``slug``, locked until the end of the transaction (other writers to it wait).

    The first statement of the transaction writes the site's row, so SQLite takes its write lock
    there, before anything is read, and PostgreSQL locks the row: checks made afterwards (a
    survey's date against the latest one, a file's hash against the site's surveys) cannot be
    raced by another ``survey add``.

    Raises:
        ConfigError: no such site.

    """
    session.execute(
        update(Site).where(Site.slug == slug).values(slug=Site.slug).execution_options(synchronize_session=False)
    )
    return get_site(session, slug)


def processed_before(survey: Survey) -> Select[Survey]:
    """The site's processed surveys acquired before ``survey``, latest first."""
    return (
        select(Survey)
        .where(
            Survey.site_id == survey.site_id,
            Survey.status == "processed",
            Survey.acquired_on < survey.acquired_on,
        )
        .order_by(Survey.acquired_on.desc())
    )
