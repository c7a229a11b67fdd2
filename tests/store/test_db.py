from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from geowarn.errors import ConfigError
from geowarn.store.db import head_revision, open_store, sqlite_url
from geowarn.store.schema import Base, Site, Survey


def test_open_creates_and_migrates_to_head(tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "a" / "g.db"))
    assert store.revision() == head_revision()
    store.close()
    again = open_store(sqlite_url(tmp_path / "a" / "g.db"))  # idempotent
    assert again.revision() == head_revision()


def test_migrations_match_the_orm_schema(tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "g.db"))
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_unknown_revision_is_refused(tmp_path: Path) -> None:
    store = open_store(sqlite_url(tmp_path / "g.db"))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='9999'"))
    with pytest.raises(ConfigError, match=r"9999.*upgrade geowarn"):
        open_store(store.url)


def test_same_file_twice_for_a_site_is_rejected_by_the_schema(tmp_path: Path) -> None:
    from datetime import date

    from sqlalchemy.exc import IntegrityError

    store = open_store(sqlite_url(tmp_path / "g.db"))
    with store.transaction() as s:
        site = Site(slug="a", name="a")
        s.add(site)
        s.flush()
        kw = dict(site_id=site.id, path="x", sha256="f" * 64, width=1, height=1, gsd_m=0.01, crs="EPSG:32633")
        s.add(Survey(acquired_on=date(2026, 1, 1), **kw))
    with pytest.raises(IntegrityError), store.transaction() as s:
        s.add(Survey(acquired_on=date(2026, 1, 2), **kw))
    with store.transaction() as s:
        assert len(s.scalars(select(Survey)).all()) == 1
        assert s.scalars(select(Survey)).one().added_at.tzinfo is not None
