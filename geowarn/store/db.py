"""Open a store: create the engine, bring the schema to the newest Alembic revision, hand out sessions.

The default is a SQLite file; any SQLAlchemy URL works (``postgresql+psycopg://...``) because the
schema uses portable types only. SQLite runs in WAL mode with foreign keys on and a busy timeout,
so a dashboard can read while ``monitor`` writes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from geowarn.errors import ConfigError
from geowarn.redact import redact, redact_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Environment variable naming the database URL (overrides the workspace default).
DB_ENV = "GEOWARN_DB"


def _alembic_config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def head_revision() -> str:
    """The newest migration shipped with this version of geowarn."""
    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    assert head is not None
    return head


@dataclass
class Store:
    """An open database: the engine and a session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def close(self) -> None:
        self.engine.dispose()


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open the database at ``url`` and migrate it to the newest schema.

    Raises:
        ConfigError: the URL is malformed, the file cannot be created, or the database is newer
            than this geowarn (downgrading would lose data, so it is refused).

    """
    if url.startswith("sqlite:///"):
        db_file = Path(url.removeprefix("sqlite:///"))
        if str(db_file) != ":memory:":
            try:
                db_file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create the folder for database {db_file}: {exc}; choose --home") from exc
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:
        raise ConfigError(
            f"database URL {redact_url(url)!r} is not valid: {redact(str(exc))}; e.g. sqlite:///geowarn.db"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    store = Store(url, engine, sessionmaker(engine, expire_on_commit=False))
    if upgrade:
        migrate(store)
    return store


def migrate(store: Store) -> None:
    """Bring the schema to the newest revision (no-op when it is there already)."""
    head = head_revision()
    try:
        current = store.revision()
        scripts = ScriptDirectory.from_config(_alembic_config(None))
        if current is not None and current not in {rev.revision for rev in scripts.walk_revisions()}:
            raise ConfigError(
                f"database {redact_url(store.url)} has schema revision {current}, unknown to geowarn "
                f"(newest known: {head}); upgrade geowarn, or point --db at another database"
            )
        if current != head:
            _upgrade(store.engine)
    except SQLAlchemyError as exc:
        detail = redact(str(getattr(exc, "orig", None) or exc))
        raise ConfigError(
            f"cannot open database {redact_url(store.url)}: {detail}; check the path and permissions"
        ) from None


#: Alembic keeps its running migration in module globals: one migration at a time in a process.
_MIGRATION_LOCK = threading.Lock()


def _upgrade(engine: Engine) -> None:
    """Run the migrations to head, once, even when several processes open a new database at once.

    On SQLite the whole upgrade is one ``BEGIN IMMEDIATE`` transaction (the database's write lock;
    a second process waits, then finds the schema at head), with foreign keys off meanwhile:
    SQLite changes a column by copying its table and dropping the old one, and dropping a table
    with foreign keys on deletes the rows that refer to it (``ON DELETE CASCADE``). A migration
    must never lose rows, so the keys are checked afterwards.
    """
    with _MIGRATION_LOCK, engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                command.upgrade(_alembic_config(conn), "head")
            return
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        isolation, dbapi.isolation_level = dbapi.isolation_level, None  # BEGIN and COMMIT are ours here
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                if MigrationContext.configure(conn).get_current_revision() != head_revision():
                    command.upgrade(_alembic_config(conn), "head")
                if broken := conn.exec_driver_sql("PRAGMA foreign_key_check").all():
                    raise ConfigError(
                        f"the migration left {len(broken)} rows with dangling references; restore a backup"
                    )
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
            conn.commit()
        finally:
            dbapi.isolation_level = isolation
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def default_url(home: Path) -> str:
    """``$GEOWARN_DB`` if set, else the SQLite file ``geowarn.db`` in the workspace folder."""
    return os.environ.get(DB_ENV) or sqlite_url(home / "geowarn.db")
