"""Site page of the dashboard at scale: does a site with 10 surveys and 5,000 cracks open in under 2 s?

Builds in --work (removed and rebuilt each run) a workspace with one site and --surveys small RGB
GeoTIFF surveys (512 x 512 px, 2 cm, EPSG:32633, a week apart) added through ``geowarn.Workspace``,
then seeds each survey in the store as monitoring would have left it (one transaction each): its
registration and site-frame offset, a run, --cracks cracks tracked through every survey (events,
growth rows with the metrics tracking writes) and an assessment. Then serves it with
``geowarn dashboard`` in a child process, signs in, and times what a browser loads to open the
site page: the HTML (``/sites/SITE``) and its crack layer (``/api/sites/SITE/cracks.geojson?survey=ID``).
First each survey once (the dashboard reads a survey's cracks on its first open and keeps them
while the site's processed surveys stay the same), then over --repeat runs after a warm-up, for
the latest survey and for an older one.

    python benchmarks/dashboard_site.py [--surveys 10] [--cracks 5000] [--repeat 5] [--work .bench/dashboard-site]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import requests
import shapely
from numpy.typing import NDArray
from rasterio.transform import from_origin
from sqlalchemy import insert, select, update

import geowarn
from geowarn.store.schema import Assessment, Crack, Growth, Run, Site, Survey, Track, TrackEvent
from geowarn.tracking.growth import CrackMeasure, NoiseFloor, acceleration, track_growth
from geowarn.tracking.history import MEASURES

ROOT = Path(__file__).resolve().parents[1]
SITE = "bench-slope"
USER, PASSWORD = "bench-admin", "bench password 123"
#: Survey rasters: size (px), pixel size (m), top-left corner (EPSG:32633).
SIZE, GSD, X0, Y0 = 512, 0.02, 500000.0, 5200000.0
FIRST_DAY = date(2025, 3, 3)
#: Marker file that makes a --work folder this script's to delete.
MARKER = ".dashboard-site-bench"
TARGET_S = 2.0


def write_survey(path: Path, seed: int) -> None:
    """A textured RGB GeoTIFF (each seed gives another file, so its sha256 differs)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(70, 190, size=(3, SIZE, SIZE), dtype=np.uint8)
    profile = {
        "driver": "GTiff", "width": SIZE, "height": SIZE, "count": 3, "dtype": "uint8", "crs": "EPSG:32633",
        "transform": from_origin(X0, Y0, GSD, GSD), "tiled": True, "blockxsize": 256, "blockysize": 256,
        "compress": "deflate", "photometric": "RGB",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pixels)


class Cracks:
    """Random crack centrelines (site frame) that some tracks extend from one survey to the next."""

    def __init__(self, n: int, surveys: int, rng: np.random.Generator) -> None:
        self.n = n
        self.base = rng.integers(8, 36, n)  # vertices in the first survey, one every ~4 cm
        # most cracks stay; about 8 % extend 3-5 vertices (~10-25 cm) a survey, 4 % open 1.5 cm a survey
        self.grows = np.where(rng.random(n) < 0.08, rng.integers(3, 6, n), 0)
        self.opens = rng.random(n) < 0.04
        most = int(self.base.max() + self.grows.max() * (surveys - 1)) + 1
        heading = rng.uniform(0, 2 * np.pi, n)[:, None] + np.cumsum(rng.normal(0, 0.15, (n, most)), axis=1)
        step = rng.uniform(0.03, 0.05, (n, most))
        start = np.c_[rng.uniform(2.0, 8.2, n), rng.uniform(-8.2, -2.0, n)]  # inside the 10.24 m survey
        x = np.clip(start[:, :1] + np.cumsum(step * np.cos(heading), axis=1), 0.05, SIZE * GSD - 0.05)
        y = np.clip(start[:, 1:] + np.cumsum(step * np.sin(heading), axis=1), 0.05 - SIZE * GSD, -0.05)
        self.path = np.stack([X0 + x, Y0 + y], axis=2)
        self.width = rng.uniform(0.004, 0.03, n)
        self.prob = rng.uniform(0.45, 0.97, n)
        self.rng = rng

    def in_survey(self, k: int) -> dict[str, NDArray[Any]]:
        """Centrelines, polygons and measurements of the cracks in survey ``k`` (0: the first)."""
        counts = self.base + self.grows * k
        jitter = self.rng.normal(0, 0.002, (self.n, 2))  # re-detection: a couple of mm
        coords = np.concatenate([self.path[i, :c] + jitter[i] for i, c in enumerate(counts)])
        lines = shapely.linestrings(coords, indices=np.repeat(np.arange(self.n), counts))
        width = self.width + 0.015 * k * self.opens + self.rng.normal(0, 0.0005, self.n)
        polygons = shapely.buffer(lines, width / 2, quad_segs=2)
        length = shapely.length(lines)
        ends = np.stack([self.path[np.arange(self.n), 0], self.path[np.arange(self.n), counts - 1]], axis=1)
        azimuth = np.degrees(np.arctan2(ends[:, 1, 0] - ends[:, 0, 0], ends[:, 1, 1] - ends[:, 0, 1])) % 180
        return {
            "centerline": shapely.to_wkb(lines),
            "polygon": shapely.to_wkb(polygons),
            "centroid": shapely.get_coordinates(shapely.centroid(polygons)),
            "length_m": length,
            "length_unc_m": np.hypot(0.01 * length, GSD),
            "mean_width_m": width,
            "max_width_m": width * 1.6,
            "width_unc_m": np.full(self.n, GSD / 4),
            "area_m2": shapely.area(polygons),
            "azimuth_deg": azimuth,
            "mean_prob": self.prob,
        }


def measures(cracks: dict[str, NDArray[Any]], i: int) -> CrackMeasure:
    return CrackMeasure(*(float(cracks[key][i]) for key in MEASURES[:6]))


def crack_rows(cracks: dict[str, NDArray[Any]], run_id: int, survey_id: int, tracks: list[int]) -> list[dict[str, Any]]:
    """Rows of the ``cracks`` table, as ``DetectedCrack.to_row`` makes them."""
    columns = {key: cracks[key].tolist() for key in MEASURES}
    x, y = cracks["centroid"][:, 0].tolist(), cracks["centroid"][:, 1].tolist()
    return [
        {
            "run_id": run_id,
            "survey_id": survey_id,
            "feature_index": i + 1,
            "track_id": track_id,
            "polygon_wkb": cracks["polygon"][i],
            "centerline_wkb": cracks["centerline"][i],
            "centroid_x": x[i],
            "centroid_y": y[i],
            **{key: values[i] for key, values in columns.items()},
        }
        for i, track_id in enumerate(tracks)
    ]


def growth_metrics(
    before: CrackMeasure, after: CrackMeasure, days: float, extension_m: float, prior: dict[str, Any] | None
) -> tuple[dict[str, Any], bool]:
    """A growth row's metrics and significance, with the keys ``geowarn.tracking.step`` stores."""
    g = track_growth([before], [after], days, 0.01, 2.0, 2.5 * GSD, extension_m, 1 if extension_m else 0, 0.5)
    metrics = g.to_dict()
    metrics["line_shift_m"] = 0.002
    metrics["line_moved"] = False
    metrics["mean_width_segmented"] = asdict(g.mean_width)
    metrics["opening"] = {
        "method": "ground displacement across the crack", "measured": True, "stations": 12, "stations_measured": 11,
        "raw_delta_m": g.mean_width.delta_m, "raw_unc_m": g.mean_width.unc_m, "pair_common_mode_m": 0.0004,
        "pair_floor_m": 0.001, "pair_tracks": 4000,
    }  # fmt: skip
    metrics["pair_noise_floor"] = NoiseFloor(0.01, 0.001, 0.0015, 5000, 0.005).to_dict()
    metrics["extension_without_lookback_m"] = extension_m
    metrics["extension_ends"] = 1 if extension_m else 0
    if prior is not None:
        p = prior["extension"]
        acc = acceleration(
            p["rate_mm_day"], p["rate_unc_mm_day"], -days, g.extension.rate_mm_day, g.extension.rate_unc_mm_day, 0.0
        )
        metrics["extension_acceleration_mm_day2"] = {"value": acc.value, "unc": acc.unc, "significant": acc.significant}
    return metrics, g.significant


def seed_store(ws: geowarn.Workspace, crack_count: int, surveys: int) -> float:
    """Mark every survey processed, with its run, tracked cracks, growth and assessment; returns seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(42)
    model = Cracks(crack_count, surveys, rng)
    store, wsdir = ws._dir.store, ws._dir
    track_ids: list[int] = []
    previous: tuple[int, date, dict[str, NDArray[Any]]] | None = None
    priors: list[dict[str, Any] | None] = [None] * crack_count
    frame = (0.0, 0.0)
    for k in range(surveys):
        cracks = model.in_survey(k)
        with store.transaction() as session:
            site = session.scalars(select(Site).where(Site.slug == SITE)).one()
            survey = session.scalars(
                select(Survey).where(Survey.site_id == site.id).order_by(Survey.acquired_on).offset(k).limit(1)
            ).one()
            now = datetime.now(UTC)
            survey.status, survey.processed_at, survey.error = "processed", now, None
            if previous is not None:
                step = tuple(float(v) for v in rng.normal(0, 0.02, 2))
                frame = (frame[0] + step[0], frame[1] + step[1])
                survey.reference_survey_id, survey.reg_ok = previous[0], True
                survey.reg_dx_m, survey.reg_dy_m, survey.reg_residual_m = step[0], step[1], 0.01
                survey.reg_detail = {
                    "ok": True, "dx_m": step[0], "dy_m": step[1], "residual_m": 0.01, "n_patches": 14, "n_tried": 16,
                    "overlap_fraction": 0.98, "method": "phase correlation", "reason": None, "crs_unit_m": 1.0,
                }  # fmt: skip
            survey.frame_dx_m, survey.frame_dy_m = frame
            out_dir = wsdir.run_dir(site, survey)
            out_dir.mkdir(parents=True, exist_ok=True)
            manifest = {
                "input": {"path": survey.path, "sha256": survey.sha256},
                "environment": {"geowarn": geowarn.__version__},
                "models": {"segmenter": {"name": "bench-unet", "weights_sha256": "0" * 64}, "classifier": None},
            }
            run = Run(
                survey_id=survey.id, out_dir=str(out_dir), finished_at=now, model_version="bench", manifest=manifest
            )
            session.add(run)
            session.flush()
            if k == 0:
                row = {"site_id": site.id, "status": "active", "first_survey_id": survey.id, "missed_surveys": 0}
                session.execute(insert(Track), [{**row, "last_survey_id": survey.id}] * crack_count)
                track_ids = list(session.scalars(select(Track.id).where(Track.site_id == site.id).order_by(Track.id)))
            else:
                session.execute(update(Track).where(Track.site_id == site.id).values(last_survey_id=survey.id))
            session.execute(insert(Crack), crack_rows(cracks, run.id, survey.id, track_ids))
            kind = "new" if previous is None else "continued"
            session.execute(
                insert(TrackEvent),
                [{"survey_id": survey.id, "track_id": t, "kind": kind, "related_track_id": None} for t in track_ids],
            )
            track_levels: dict[str, str] = {}
            if previous is not None:
                days = float((survey.acquired_on - previous[1]).days)
                rows = []
                for i, track_id in enumerate(track_ids):
                    before, after = measures(previous[2], i), measures(cracks, i)
                    extension = max(after.length_m - before.length_m, 0.0) if model.grows[i] else 0.0
                    metrics, significant = growth_metrics(before, after, days, extension, priors[i])
                    priors[i] = metrics
                    track_levels[str(track_id)] = "green"
                    rows.append(
                        dict(
                            track_id=track_id,
                            survey_id=survey.id,
                            from_survey_id=previous[0],
                            days=days,
                            metrics=metrics,
                            significant=significant,
                        )
                    )
                session.execute(insert(Growth), rows)
            detail = {"raw": "green", "reasons": [], "track_levels": track_levels, "zone_levels": {}}
            trigger = f"survey:{survey.id}"
            session.add(
                Assessment(
                    site_id=site.id,
                    survey_id=survey.id,
                    trigger_key=trigger,
                    level="green",
                    candidate_level="green",
                    detail=detail,
                )
            )
            previous = (survey.id, survey.acquired_on, cracks)
    return time.perf_counter() - started


def build(work: Path, surveys: int, cracks: int) -> float:
    """The workspace in ``work/home``; returns the seconds spent seeding the store."""
    if work.exists():
        if any(work.iterdir()) and not (work / MARKER).exists():
            sys.exit(f"{work} is not empty and not this benchmark's folder; pass another --work")
        shutil.rmtree(work)
    (work / "surveys").mkdir(parents=True)
    (work / MARKER).touch()
    with geowarn.Workspace(work / "home") as ws:
        ws.add_site(SITE, "Benchmark slope")
        for k in range(surveys):
            path = work / "surveys" / f"survey-{k + 1:02d}.tif"
            write_survey(path, k)
            ws.add_survey(SITE, path, FIRST_DAY + timedelta(weeks=k))
        ws.add_user(USER, "admin", PASSWORD)
        return seed_store(ws, cracks, surveys)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("geowarn")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "geowarn.cli"]
    command += ["dashboard", "--home", str(home), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the dashboard exited ({server.returncode}):\n{log.read_text()}")
        try:
            if requests.get(f"{base}/login", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    sys.exit(f"the dashboard did not answer within {timeout:.0f} s:\n{log.read_text()}")


def sign_in(base: str) -> requests.Session:
    client = requests.Session()
    form = client.get(f"{base}/login", timeout=30).text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    reply = client.post(
        f"{base}/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token, "next": "/"},
        allow_redirects=False,
        timeout=30,
    )
    if reply.status_code != 303:
        sys.exit(f"sign-in failed: {reply.status_code} {reply.text[:300]}")
    return client


def fetch(client: requests.Session, url: str) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    reply = client.get(url, allow_redirects=False, timeout=300)
    seconds = time.perf_counter() - started
    if reply.status_code != 200:
        sys.exit(f"GET {url}: {reply.status_code} {reply.text[:300]}")
    return seconds, reply


def time_site(client: requests.Session, base: str, survey: int | None, layer_survey: int, repeat: int) -> None:
    """Time the site page and its crack layer (one warm-up, then ``repeat`` runs) and print the figures."""
    page_url = f"{base}/sites/{SITE}" + (f"?survey={survey}" if survey is not None else "")
    layer_url = f"{base}/api/sites/{SITE}/cracks.geojson?survey={layer_survey}"
    pages, layers = [], []
    for run in range(repeat + 1):
        page_s, page = fetch(client, page_url)
        layer_s, layer = fetch(client, layer_url)
        if run:
            pages.append(page_s)
            layers.append(layer_s)
    features = len(layer.json()["features"])
    opens = [p + c for p, c in zip(pages, layers, strict=True)]
    label = "latest survey" if survey is None else f"older survey {survey}"

    def line(name: str, times: list[float], size: str) -> str:
        return f"  {name:<26} median {statistics.median(times):6.3f} s   max {max(times):6.3f} s   {size}"

    print(f"site page, {label} (crack layer of survey {layer_survey}, {features:,} features):")
    print(line("HTML /sites/...", pages, f"{len(page.content) / 1e3:,.0f} kB"))
    print(line("cracks.geojson", layers, f"{len(layer.content) / 1e6:,.2f} MB"))
    median = statistics.median(opens)
    verdict = "under" if median < TARGET_S else "NOT under"
    print(line("site opens (sum)", opens, f"-> median {verdict} {TARGET_S:g} s"))


def time_cold(client: requests.Session, base: str, ids: list[int]) -> None:
    """Each survey's site page and crack layer opened once: the first read of that survey since the server started."""
    opens = []
    for survey in ids:
        page_s, _ = fetch(client, f"{base}/sites/{SITE}?survey={survey}")
        layer_s, _ = fetch(client, f"{base}/api/sites/{SITE}/cracks.geojson?survey={survey}")
        opens.append(page_s + layer_s)
    median = statistics.median(opens)
    verdict = "under" if median < TARGET_S else "NOT under"
    print(
        f"site opens, first time for each of the {len(ids)} surveys (HTML + crack layer): median {median:.3f} s, "
        f"max {max(opens):.3f} s -> median {verdict} {TARGET_S:g} s"
    )


def profile_in_process(home: Path, survey: int) -> None:
    """Where the time goes: ``survey_cracks`` and ``crack_features`` in this process, on the same workspace."""
    from geowarn.dashboard.mapdata import crack_features, survey_by_id

    with geowarn.Workspace(home) as ws:
        info = survey_by_id(ws, SITE, survey)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("Workspace.cracks (survey_cracks)", lambda: ws.cracks(SITE, survey)),
        ]
        frame = ws.cracks(SITE, survey)
        steps.append(("crack_features", lambda: crack_features(frame, info, SITE)))
        print(f"in process, survey {survey}:")
        for name, step in steps:
            step()
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                step()
                runs.append(time.perf_counter() - started)
            print(f"  {name:<34} median {statistics.median(runs):6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", type=int, default=10)
    parser.add_argument("--cracks", type=int, default=5000, help="tracked cracks, seen in every survey")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--work", type=Path, default=ROOT / ".bench" / "dashboard-site")
    args = parser.parse_args()
    if args.surveys < 2 or args.cracks < 1 or args.repeat < 1:
        parser.error("need --surveys >= 2, --cracks >= 1, --repeat >= 1")
    os.environ.pop("GEOWARN_DB", None)  # the workspace's own SQLite file, for this process and the server
    work = args.work.resolve()

    started = time.perf_counter()
    seed_s = build(work, args.surveys, args.cracks)
    total_s = time.perf_counter() - started
    print(
        f"workspace {work / 'home'}: {args.surveys} surveys, {args.cracks:,} tracks, "
        f"{args.surveys * args.cracks:,} crack rows; built in {total_s:.1f} s (seeding the store {seed_s:.1f} s)"
    )
    with geowarn.Workspace(work / "home") as ws:
        ids = [s.id for s in ws.surveys(SITE)]
    latest, older = ids[-1], ids[len(ids) // 2 - 1]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "dashboard.log"
    server = start_server(work / "home", port, log)
    try:
        up = time.perf_counter()
        wait_until_up(base, server, log)
        print(f"geowarn dashboard answered on {base} after {time.perf_counter() - up:.1f} s")
        client = sign_in(base)
        time_cold(client, base, ids)
        time_site(client, base, None, latest, args.repeat)
        time_site(client, base, older, older, args.repeat)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    profile_in_process(work / "home", latest)


if __name__ == "__main__":
    main()
