"""Human-readable summaries printed at the end of commands."""

from __future__ import annotations

from geowarn.pipeline.detect import DetectResult


def detect_summary(result: DetectResult) -> str:
    """A few lines: what was found, how fast, where the outputs are."""
    c = result.counts
    rates = result.manifest["rates"]
    raster = result.manifest["input"]["raster"]
    lines = [
        f"geowarn detect: {result.n_cracks} crack(s), total length {result.total_length_m:.2f} m",
        f"  input   {raster['path']} ({raster['width']} x {raster['height']} px, {raster['gsd_m'] * 100:.2f} cm, "
        f"{raster['crs']})",
        f"  tiles   {c['tiles_total']} total, {c['tiles_nodata']} no-data, {c['tiles_positive']} gated in, "
        f"{c['tiles_followed']} followed along cracks, {c['tiles_segmented']} segmented",
        f"  speed   {result.seconds['total']:.1f} s end to end ({rates['end_to_end_mpx_per_s'] or 0:.2f} Mpx/s)",
        "  outputs",
    ]
    lines += [f"    {path}" for path in result.outputs.values()]
    return "\n".join(lines)
