"""Local crack width at skeleton pixels: PCA normals and sub-pixel mask profiles."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["FAN_DEG", "SHIFT_PX", "chord_widths", "local_normals", "ray_exit"]

#: Profiles are sampled in chunks of this many skeleton pixels to bound memory.
_CHUNK = 4096
#: Turns of the normal (degrees) sampled for the robust maximum width; 0 must come first.
FAN_DEG = (0.0, -20.0, -10.0, 10.0, 20.0)
#: Offset (px) of the two parallel chords averaged for each direction.
SHIFT_PX = 0.25


def local_normals(
    skel: NDArray[np.bool_], rows: NDArray[np.int64], cols: NDArray[np.int64], radius: int = 3
) -> NDArray[np.float64]:
    """Unit normals (drow, dcol) from the PCA of skeleton pixels in a square neighbourhood.

    Args:
        skel: Skeleton image with at least ``radius`` empty pixels around every skeleton pixel.
        rows: Rows of the pixels to evaluate.
        cols: Columns of the pixels to evaluate.
        radius: Half side of the neighbourhood.

    Returns:
        (N, 2) normals perpendicular to the local principal axis.

    """
    moments = np.zeros((6, rows.size))
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            w = skel[rows + dr, cols + dc].astype(np.float64)
            moments += w * np.array([1.0, dr, dc, dr * dr, dc * dc, dr * dc])[:, None]
    s0, sr, sc, srr, scc, src = moments
    mr, mc = sr / s0, sc / s0
    c_rr, c_cc, c_rc = srr / s0 - mr * mr, scc / s0 - mc * mc, src / s0 - mr * mc
    theta = 0.5 * np.arctan2(2.0 * c_rc, c_cc - c_rr)  # principal axis angle from the column axis
    return np.stack([np.cos(theta), -np.sin(theta)], axis=1)


def _chords(
    mask: NDArray[np.uint8],
    r0: NDArray[np.float64],
    c0: NDArray[np.float64],
    d_r: NDArray[np.float64],
    d_c: NDArray[np.float64],
    t: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Integral of the bilinear mask over the non-zero run through each centre (t = 0)."""
    centre = int(np.argmin(np.abs(t)))
    idx = np.arange(t.size)
    step = float(t[1] - t[0])
    out = np.empty(r0.size)
    for s in range(0, r0.size, _CHUNK):
        sl = slice(s, s + _CHUNK)
        r = r0[sl, None] + t[None, :] * d_r[sl, None]
        c = c0[sl, None] + t[None, :] * d_c[sl, None]
        vals = ndimage.map_coordinates(mask, [r.ravel(), c.ravel()], order=1, output=np.float64)
        vals = vals.reshape(r.shape)
        outside = vals <= 1e-6
        left = np.where(outside[:, :centre], idx[:centre], -1).max(axis=1)
        right = np.where(outside[:, centre:], idx[centre:], t.size).min(axis=1)
        csum = np.concatenate([np.zeros((vals.shape[0], 1)), np.cumsum(vals, axis=1)], axis=1)
        rows = np.arange(vals.shape[0])
        out[sl] = (csum[rows, right] - csum[rows, left + 1]) * step
    return out


def chord_widths(
    mask: NDArray[np.uint8],
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    normals: NDArray[np.float64],
    radius: NDArray[np.float64],
    fan_deg: tuple[float, ...] = FAN_DEG,
    step: float = 0.25,
) -> NDArray[np.float64]:
    """Sub-pixel chord lengths of the mask through each skeleton pixel.

    The 0/1 mask is sampled bilinearly every ``step`` px along the normal turned by each
    angle of ``fan_deg``; the run of non-zero samples through the centre is integrated,
    which places each edge where the interpolated mask crosses 0.5. Each chord is the mean
    of two parallel chords ``SHIFT_PX`` either side of the pixel centre: chords through
    lattice points alone are biased by up to 0.25 px on 45 degree staircases. Chords are
    clamped to ``[2r - 1, 2r + 1]`` with ``r`` the distance-transform radius: ``2r - 1`` is
    the narrowest band whose centre pixel has radius ``r``, and a skeleton pixel up to
    0.5 px off the true centre line lets the far half reach 0.5 px beyond ``r``.

    Args:
        mask: 0/1 mask with empty borders.
        rows: Rows of the skeleton pixels.
        cols: Columns of the skeleton pixels.
        normals: (N, 2) unit normals (drow, dcol).
        radius: Distance-transform value at each skeleton pixel.
        fan_deg: Turns of the normal to sample, degrees.
        step: Sampling step in px.

    Returns:
        (N, len(fan_deg)) chord lengths in px.

    """
    reach = float(np.ceil(radius.max(initial=1.0))) + 2.0
    t = np.arange(-reach, reach + step / 2, step)
    out = np.zeros((rows.size, len(fan_deg)))
    for f, turn in enumerate(np.radians(fan_deg)):
        cos_t, sin_t = np.cos(turn), np.sin(turn)
        d_r = cos_t * normals[:, 0] - sin_t * normals[:, 1]
        d_c = sin_t * normals[:, 0] + cos_t * normals[:, 1]
        for shift in (-SHIFT_PX, SHIFT_PX):
            out[:, f] += 0.5 * _chords(mask, rows + shift * d_c, cols - shift * d_r, d_r, d_c, t)
    return np.clip(out, (2.0 * radius - 1.0)[:, None], (2.0 * radius + 1.0)[:, None])


def ray_exit(
    mask: NDArray[np.uint8],
    origin: NDArray[np.float64],
    direction: NDArray[np.float64],
    reach: float,
    gap: float = 1.5,
) -> float:
    """Distance from ``origin`` along unit ``direction`` to where the mask ends.

    The 0/1 mask is interpolated bilinearly, so the 0.5 crossing is the pixel edge. The end
    is the first crossing below 0.5 followed by at least ``gap`` px below 0.5, so the dips
    between the staircase pixels of a thin oblique line are passed over. Returns ``reach``
    when the mask does not end before it.
    """
    step = 0.125
    t = np.arange(0.0, reach + gap + step, step)
    pts = origin[:, None] + direction[:, None] * t[None, :]
    vals = ndimage.map_coordinates(mask, pts, order=1, output=np.float64)
    below = (vals < 0.5).astype(np.int64)
    run = round(gap / step)
    sums = np.convolve(below, np.ones(run + 1, dtype=np.int64), mode="full")[run:]  # run starting at i
    ends = np.flatnonzero((sums == run + 1) & (t[: sums.size] <= reach))
    if ends.size == 0:
        return float(reach)
    i = int(ends[0])
    if i == 0:
        return 0.0
    frac = (vals[i - 1] - 0.5) / (vals[i - 1] - vals[i])
    return float(t[i - 1] + frac * step)
