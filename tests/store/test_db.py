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


def test_a_database_of_the_first_schema_keeps_its_outbox_when_upgraded(tmp_path: Path) -> None:
    from alembic import command

    from geowarn.store.db import _alembic_config

    store = open_store(sqlite_url(tmp_path / "g.db"), upgrade=False)
    with store.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(text("INSERT INTO sites (id, slug, name, created_at) VALUES (1, 'a', 'a', '2026-05-01')"))
        conn.execute(
            text(
                "INSERT INTO assessments (id, site_id, trigger_key, created_at, level, candidate_level, detail) "
                "VALUES (1, 1, 'k', '2026-05-01', 'orange', 'orange', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO alerts (id, site_id, assessment_id, created_at, level, previous_level, requires_ack, "
                "payload) VALUES (1, 1, 1, '2026-05-01', 'orange', 'green', 1, '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (alert_id, channel, recipient, idempotency_key, status, attempts, "
                "next_attempt_at) VALUES (1, 'c', 'r', 'key-1', 'pending', 0, '2026-05-01')"
            )
        )
    assert store.revision() == "0001"
    upgraded = open_store(store.url)
    assert upgraded.revision() == head_revision()
    with upgraded.engine.connect() as conn:
        rows = conn.execute(text("SELECT idempotency_key, status, reminder FROM deliveries")).all()
    assert [tuple(r) for r in rows] == [("key-1", "pending", 0)]


def test_a_database_of_the_second_schema_keeps_every_row_when_upgraded(tmp_path: Path) -> None:
    from alembic import command

    from geowarn.store.db import _alembic_config

    store = open_store(sqlite_url(tmp_path / "g.db"), upgrade=False)
    with store.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0002")
        conn.execute(
            text("INSERT INTO sites (id, slug, name, crs, created_at) VALUES (1, 'a', 'a', 'EPSG:1', '2026-05-01')")
        )
        conn.execute(
            text(
                "INSERT INTO surveys (id, site_id, path, sha256, acquired_on, added_at, status, width, height, gsd_m, "
                "crs) VALUES (1, 1, 'p', 'f', '2026-05-01', '2026-05-01', 'processed', 1, 1, 0.01, 'EPSG:32633')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO assessments (id, site_id, survey_id, trigger_key, created_at, level, candidate_level, "
                "detail) VALUES (1, 1, 1, 'k', '2026-05-01', 'orange', 'orange', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO alerts (id, site_id, assessment_id, created_at, level, previous_level, requires_ack, "
                "payload) VALUES (1, 1, 1, '2026-05-01', 'orange', 'green', 1, '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (alert_id, channel, recipient, idempotency_key, status, attempts, "
                "next_attempt_at, reminder) VALUES (1, 'c', 'r', 'key-1', 'pending', 2, '2026-05-01', 0)"
            )
        )
    upgraded = open_store(store.url)
    assert upgraded.revision() == head_revision() == "0005"
    with upgraded.engine.connect() as conn:
        for table in ("sites", "surveys", "assessments", "alerts", "deliveries"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
        assert conn.execute(text("SELECT attempts, claimed_by FROM deliveries")).one() == (2, None)
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    wkt = "PROJCRS[" + "x" * 600 + "]"
    with upgraded.transaction() as s:
        s.get_one(Site, 1).crs = wkt
    with upgraded.transaction() as s:
        assert s.get_one(Site, 1).crs == wkt and s.get_one(Site, 1).error is None
    ddl = " ".join(str(c.type) for c in Base.metadata.tables["sites"].columns if c.name == "crs")
    assert "VARCHAR" not in ddl  # PostgreSQL would refuse WKT longer than a VARCHAR(64)


@pytest.mark.slow
def test_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = sqlite_url(tmp_path / "g.db")
    code = f"from geowarn.store.db import open_store; print(open_store({url!r}).revision())"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0] and outs == [head_revision()] * 3
