"""detect on a real Dask LocalCluster of two worker processes on loopback, with the shipped models."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from geowarn.errors import ClusterError
from geowarn.faults import FAILPOINTS_ENV, FAILPOINTS_ONCE_ENV
from geowarn.harness.synthetic import make_orthomosaic
from geowarn.pipeline.detect import detect
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.scale import cluster as cluster_module
from tests.scale.test_blocks import assert_same_outputs

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

#: 128-px tiles over 1,000 px: 8 tile rows, two blocks on two workers.
CONFIG = DetectConfig(tile_core=128, device="cpu", threads=1)


@pytest.fixture(scope="module")
def ortho(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "ortho.tif"
    make_orthomosaic(path, 1000, 1000, seed=5, n_cracks=6, alpha=True, nodata_border_px=60)
    return path


@pytest.fixture(scope="module")
def single(ortho: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("single")
    result = detect(ortho, out, CONFIG, progress=False, quiet=True)
    assert result.n_cracks >= 3
    return out


def test_two_local_workers_give_the_single_process_result(ortho: Path, single: Path, tmp_path: Path) -> None:
    result = detect(ortho, tmp_path, CONFIG.model_copy(update={"cluster": "local:2"}), progress=False, quiet=True)
    assert_same_outputs(single, tmp_path)
    assert result.manifest["config"]["cluster"] == "local:2"
    assert result.seconds["cluster_start"] > 0 and result.seconds["workers_segment"] > 0


def test_a_worker_killed_mid_block_is_retried_and_the_result_is_complete(
    ortho: Path, single: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = tmp_path / "claims"
    claims.mkdir()
    monkeypatch.setenv(FAILPOINTS_ENV, "scale.block-started")  # workers inherit it when they start
    monkeypatch.setenv(FAILPOINTS_ONCE_ENV, str(claims))  # only the first worker there dies
    out = tmp_path / "out"
    detect(ortho, out, CONFIG.model_copy(update={"cluster": "local:2"}), progress=False, quiet=True)
    assert (claims / "scale.block-started").exists(), "no worker was killed"
    assert_same_outputs(single, out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_is_a_clear_error_and_writes_nothing(
    ortho: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}.*Nothing was written"):
        detect(ortho, tmp_path, CONFIG.model_copy(update={"cluster": address}), progress=False, quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_scheduler_lost_mid_run_is_a_clear_error_and_stores_nothing(ortho: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            detect(ortho, tmp_path, CONFIG.model_copy(update={"cluster": cluster.scheduler_address}), quiet=True)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".geowarn-staging-*/.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.close()
    thread.join(120)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], ClusterError), errors
    assert "lost the Dask cluster" in str(errors[0])
    assert list(tmp_path.iterdir()) == []


def test_surveys_of_two_sites_share_one_cluster(ortho: Path, single: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from geowarn.scale.cluster import SharedClusters, parse_cluster

    other = tmp_path / "other.tif"
    make_orthomosaic(other, 700, 900, seed=9, n_cracks=4)
    other_single = tmp_path / "other-single"
    detect(other, other_single, CONFIG, progress=False, quiet=True)
    config = CONFIG.model_copy(update={"cluster": "local:2"})
    with SharedClusters() as shared, ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(detect, path, tmp_path / name, config, quiet=True)
            for path, name in ((ortho, "a"), (other, "b"))
        ]
        for run in runs:
            run.result()
        client = shared.client(parse_cluster("local:2"))
        assert len(client.scheduler_info()["workers"]) == 2
        assert len(shared._clients) == 1  # one cluster for both sites
    assert_same_outputs(single, tmp_path / "a")
    assert_same_outputs(other_single, tmp_path / "b")
