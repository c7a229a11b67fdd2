"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, loopback only, random port.

``GEOWARN_TEST_PG_URL`` (a server URL such as ``postgresql+psycopg://user:pw@127.0.0.1:5432/postgres``)
is used when no cluster can be started here; without either, the PostgreSQL variants skip with the
reason. Debian puts ``initdb`` and ``pg_ctl`` under ``/usr/lib/postgresql/<version>/bin``. PostgreSQL
refuses to run as root, so under root the cluster runs as the ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_URL_ENV = "GEOWARN_TEST_PG_URL"


def find_bin(name: str) -> str | None:
    """``initdb``/``pg_ctl`` on the PATH or in Debian's versioned folders (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A PostgreSQL server: its admin URL and a way to make fresh databases."""

    url: str  # of the maintenance database (postgres)
    template: str | None = None

    def _create(self, name: str, template: str | None) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        finally:
            engine.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database, at the newest schema (copied from a migrated template) or empty; returns its URL."""
        if migrated and self.template is None:
            from geowarn.store.db import open_store

            name = f"geowarn_template_{uuid.uuid4().hex[:8]}"
            open_store(self._create(name, None)).close()
            self.template = name
        return self._create(f"geowarn_test_{uuid.uuid4().hex[:12]}", self.template if migrated else None)


def _as_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Server]:
    """Start a cluster in a temporary folder (stopped and deleted at the end).

    Raises:
        RuntimeError: no PostgreSQL binaries, or the cluster did not start (the message says why).

    """
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("initdb/pg_ctl not found (install Debian's postgresql package)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise RuntimeError("running as root without runuser: PostgreSQL cannot run as root")
    root = Path(tempfile.mkdtemp(prefix="geowarn-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    try:
        subprocess.run(
            _as_user([initdb, "-D", str(data), "-U", "geowarn", "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True,
            capture_output=True,
            text=True,
        )
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        subprocess.run(
            _as_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start"]),
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text(errors="replace")[-2000:] if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr.strip() or exc} {log}") from None
    try:
        yield Server(f"postgresql+psycopg://geowarn@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            _as_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True, check=False
        )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    """A throwaway cluster, else ``$GEOWARN_TEST_PG_URL``.

    Raises:
        RuntimeError: neither is available (the message is the reason to skip with).

    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise RuntimeError("the psycopg driver is not installed") from None
    given = os.environ.get(PG_URL_ENV)
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_cluster())
        except RuntimeError as exc:
            if not given:
                raise RuntimeError(f"{exc}; or set {PG_URL_ENV} to a PostgreSQL server URL") from None
            server = Server(given)
        yield server
