"""Which Dask cluster ``--cluster`` names, and a client connected to it.

A run connects for its own duration (a local cluster is started and stopped with it), unless the
process shares its clusters (:class:`SharedClusters`, as the ingestion service does): then the
surveys of every site, processed in their own threads, go to one cluster and one client.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from geowarn.errors import ClusterError, ConfigError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger("geowarn.scale")

_LOCAL = re.compile(r"local(?::(\d+))?")
_REMOTE = re.compile(r"(tcp|tls|ucx)://[^\s/]+(:\d+)?")
#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class ClusterSpec:
    """A local cluster of ``workers`` processes on loopback, or the scheduler at ``address``."""

    address: str | None = None
    workers: int = 0

    @property
    def local(self) -> bool:
        return self.address is None


def parse_cluster(value: str) -> ClusterSpec:
    """``local``, ``local:N`` or a scheduler address such as ``tcp://10.0.0.5:8786``.

    Raises:
        ConfigError: anything else.

    """
    text = value.strip()
    if m := _LOCAL.fullmatch(text):
        workers = int(m.group(1)) if m.group(1) else max(1, os.cpu_count() or 1)
        if workers < 1:
            raise ConfigError(f"cluster: {value!r} asks for no worker; use local:1 or more")
        return ClusterSpec(workers=workers)
    if _REMOTE.fullmatch(text):
        return ClusterSpec(address=text)
    raise ConfigError(
        f"cluster: {value!r} is not a cluster; use local, local:N (N worker processes on this machine) "
        "or the scheduler's address, e.g. tcp://scheduler:8786"
    )


def threads_per_worker(spec: ClusterSpec) -> int:
    """Torch threads for each worker of a local cluster (the cores shared out); 0 leaves remote ones be."""
    if not spec.local:
        return 0
    return max(1, (os.cpu_count() or 1) // spec.workers)


def _open(spec: ClusterSpec) -> tuple[Client, Any]:
    """A new client, and the local cluster started for it (None for a remote scheduler)."""
    import dask
    from distributed import Client, LocalCluster

    if spec.local:
        threads = threads_per_worker(spec)
        with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ(threads)}):
            cluster = LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
        return Client(cluster), cluster
    try:
        return Client(spec.address, timeout=CONNECT_TIMEOUT_S), None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cluster: cannot reach the Dask scheduler at {spec.address} ({exc}); start it "
            "(dask scheduler, then dask worker ADDRESS on each machine) or fix the address. Nothing was written."
        ) from exc


def _close(client: Client, cluster: Any) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


class SharedClusters:
    """One client per cluster for the whole process, for as long as this object is open.

    While one is open, :func:`connect` hands out its clients instead of connecting per run; a client
    whose scheduler went away is replaced at the next run.
    """

    _current: SharedClusters | None = None

    def __init__(self) -> None:
        self._clients: dict[ClusterSpec, tuple[Client, Any]] = {}
        self._lock = threading.Lock()

    def client(self, spec: ClusterSpec) -> Client:
        with self._lock:
            entry = self._clients.get(spec)
            if entry is not None and entry[0].status not in ("running", "connecting"):
                _close(*entry)
                entry = None
            if entry is None:
                entry = self._clients[spec] = _open(spec)
            return entry[0]

    def __enter__(self) -> SharedClusters:
        SharedClusters._current = self
        return self

    def __exit__(self, *exc: object) -> None:
        SharedClusters._current = None
        with self._lock:
            for entry in self._clients.values():
                _close(*entry)
            self._clients.clear()


def worker_environ(threads: int) -> dict[str, str]:
    """Environment of local worker processes: the models' thread count, and glibc's own malloc trimming.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` by default; that fixes glibc's mmap threshold,
    so every large array is mapped and unmapped again, which made the models 1.7 times slower in a
    worker than in a plain process on the reference machine.
    """
    n = str(max(1, threads))
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}


@contextmanager
def connect(spec: ClusterSpec) -> Iterator[Client]:
    """A client of the named cluster: the process's shared one, else one started for this run and closed after.

    Raises:
        ClusterError: the scheduler cannot be reached.

    """
    shared = SharedClusters._current
    if shared is not None:
        yield shared.client(spec)
        return
    client, cluster = _open(spec)
    try:
        yield client
    finally:
        _close(client, cluster)
