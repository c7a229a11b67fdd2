"""Seamless synthetic texture of bare soil, gravel and sparse vegetation on a slope.

Every pixel value is a pure function of its global (col, row) position and the seed, so a raster
can be rendered window by window in any order and split without visible seams. Two ingredients:

* aperiodic value noise whose lattice values come from an integer hash of the lattice position
  (large-scale colour, brightness, moisture, vegetation and illumination fields);
* periodic texture layers (fine grain with relief shading, and a layer of shaded stones) that are
  precomputed once per process and shifted by a seed-dependent offset; the periods of the layers
  differ and the stones are shown or hidden by an aperiodic density field, so the repetition is not
  visible.

Only IEEE-exact arithmetic (add, multiply, divide, sqrt, comparisons) is used per pixel, which keeps
the output bit-identical whatever the window layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import cv2
import numpy as np
import scipy.fft as sfft
from numpy.typing import NDArray

__all__ = ["render_terrain", "render_terrain_into", "stone_cover", "value_noise"]

_G = TypeVar("_G", bound=np.generic)

_BLOCK = 512
"""Largest block computed at once; every periodic layer is padded by this much."""

_MASK32 = np.uint64(0xFFFFFFFF)
_STONE_DENSITY_SPACING = 380.0

# Soil palette (RGB): brown loam, grey rock debris, ochre clay, green vegetation.
_BROWN = np.array([116.0, 92.0, 70.0], dtype=np.float32)
_GREY = np.array([128.0, 124.0, 117.0], dtype=np.float32)
_OCHRE = np.array([160.0, 126.0, 82.0], dtype=np.float32)
_GREEN = np.array([74.0, 96.0, 46.0], dtype=np.float32)
_DRY_GREEN = np.array([118.0, 116.0, 66.0], dtype=np.float32)


def _hash_u32(a: NDArray[np.int64], b: NDArray[np.int64], seed: int) -> NDArray[np.uint64]:
    """Integer hash of two integer lattice coordinates and a seed, in [0, 2**32)."""
    h = (a.astype(np.uint64) * np.uint64(0x8DA6B343)) & _MASK32
    h = h ^ ((b.astype(np.uint64) * np.uint64(0xD8163841)) & _MASK32)
    h ^= np.uint64((seed * 0xCB1AB31F + 0x9E3779B9) & 0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x7FEB352D)) & _MASK32
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x846CA68B)) & _MASK32
    h ^= h >> np.uint64(16)
    return h


def hash_unit(rows: NDArray[np.int64], cols: NDArray[np.int64], seed: int) -> NDArray[np.float32]:
    """Per-position pseudo-random values in [0, 1) (broadcasts ``rows`` against ``cols``)."""
    return (_hash_u32(rows, cols, seed).astype(np.float64) * (1.0 / 4294967296.0)).astype(np.float32)


def _axis_weights(start: int, n: int, spacing: float) -> tuple[NDArray[np.intp], NDArray[np.float32], int]:
    """Lattice cell index (relative), quintic fade weight and first lattice index along one axis."""
    pos = (np.arange(start, start + n, dtype=np.float64) + 0.5) / spacing
    cell = np.floor(pos)
    f = pos - cell
    f = f * f * f * (f * (f * 6.0 - 15.0) + 10.0)
    first = int(cell[0])
    return (cell - first).astype(np.intp), f.astype(np.float32), first


def value_noise(row0: int, col0: int, h: int, w: int, spacing: float, seed: int) -> NDArray[np.float32]:
    """Aperiodic value noise in [0, 1] on global pixel coordinates.

    Args:
        row0: Global row of the first pixel.
        col0: Global column of the first pixel.
        h: Number of rows.
        w: Number of columns.
        spacing: Lattice spacing in pixels (feature size).
        seed: Seed of the lattice hash.

    Returns:
        ``(h, w)`` float32 array.

    """
    iy, fy, y0 = _axis_weights(row0, h, spacing)
    ix, fx, x0 = _axis_weights(col0, w, spacing)
    ly = np.arange(y0, y0 + int(iy[-1]) + 2, dtype=np.int64)
    lx = np.arange(x0, x0 + int(ix[-1]) + 2, dtype=np.int64)
    lat = hash_unit(ly[:, None], lx[None, :], seed)
    a = lat[:, ix]
    a += (lat[:, ix + 1] - a) * fx[None, :]
    out = a[iy]
    out += (a[iy + 1] - out) * fy[:, None]
    return out


def _smooth01(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Clip to [0, 1] then apply the cubic smoothstep."""
    np.clip(x, 0.0, 1.0, out=x)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class _Layers:
    """Periodic texture layers of one seed, padded by ``_BLOCK`` for wrap-free slicing."""

    grain_a: NDArray[np.float32]
    grain_b: NDArray[np.float32]
    fields: NDArray[np.uint16]  # (3, Py+B, Px+B): moisture, tufts, brightness in [0, 1] * 65535
    stones: NDArray[np.uint8]  # (6, Py+B, Px+B): lit R, G, B, alpha, key, shadow

    @staticmethod
    def period(layer: NDArray[np.generic]) -> tuple[int, int]:
        """Period (rows, cols) of a padded layer."""
        return layer.shape[-2] - _BLOCK, layer.shape[-1] - _BLOCK


def _pad_periodic(a: NDArray[np.generic]) -> NDArray[np.generic]:
    """Append the first ``_BLOCK`` rows/columns so any block can be sliced without wrapping."""
    pad = [(0, 0)] * (a.ndim - 2) + [(0, _BLOCK), (0, _BLOCK)]
    return np.pad(a, pad, mode="wrap")


def _periodic_noise(
    rng: np.random.Generator, shape: tuple[int, int], f_lo: float, f_hi: float, beta: float
) -> NDArray[np.float32]:
    """Band-limited 1/f**beta periodic noise with zero mean and unit std."""
    spec = sfft.rfft2(rng.standard_normal(shape, dtype=np.float32))
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    amp = f**-beta * np.exp(-((f / f_hi) ** 2)) * (1.0 - np.exp(-((f / f_lo) ** 2)))
    amp[0, 0] = 0.0
    spec *= amp.astype(np.float32)
    del amp, f
    out: NDArray[np.float32] = sfft.irfft2(spec, s=shape)
    out -= out.mean()
    out /= out.std() + 1e-12
    return out


def _grain_layer(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float32]:
    """Luminance factor texture: albedo speckle plus relief shading lit from the north-west."""
    albedo = 0.6 * _periodic_noise(rng, shape, 1 / 40, 0.45, 0.6)
    albedo += 0.4 * _periodic_noise(rng, shape, 1 / 200, 1 / 12, 1.0)
    height = _periodic_noise(rng, shape, 1 / 160, 0.3, 1.3)
    slope = np.roll(height, (1, 1), axis=(0, 1)) - np.roll(height, (-1, -1), axis=(0, 1))
    slope /= slope.std() + 1e-12
    # Small bright sand grains and dark pores (isolated dots, never lines).
    dots = rng.random(shape)
    specks = np.where(dots > 0.9985, 0.35, 0.0) - np.where(dots < 0.001, 0.25, 0.0)
    specks = np.pad(specks, 4, mode="wrap")
    specks = cv2.GaussianBlur(specks, (0, 0), 0.7)[4:-4, 4:-4]
    lum = 1.0 + 0.075 * albedo + 0.06 * slope + specks
    return _pad_periodic(lum.astype(np.float32))  # type: ignore[return-value]


_ROCKS = np.array(
    [[152, 148, 140], [112, 110, 104], [140, 120, 98], [132, 104, 84], [170, 162, 146], [96, 88, 78]],
    dtype=np.float64,
)


def _stone_layer(rng: np.random.Generator, shape: tuple[int, int], coverage: float) -> NDArray[np.uint8]:
    """Periodic layer of irregular shaded stones with soft drop shadows (6 uint8 channels)."""
    py, px = shape
    rgb = np.zeros((3, py, px), dtype=np.float32)
    alpha = np.zeros((py, px), dtype=np.float32)
    key = np.zeros((py, px), dtype=np.float32)
    shadow = np.zeros((py, px), dtype=np.float32)
    light = np.array([-0.55, -0.55, 0.63])
    light /= np.linalg.norm(light)
    r_min, r_max = 2.2, 24.0
    area, target = 0.0, coverage * py * px
    while area < target:
        # Truncated power law: many grains, few cobbles.
        u = rng.random()
        r = r_min * (r_max / r_min) ** (u**1.7)
        aspect = rng.uniform(0.55, 1.0)
        ang = rng.uniform(0.0, np.pi)
        cx, cy = rng.uniform(0, px), rng.uniform(0, py)
        harm = rng.normal(0.0, 0.06, 4) / np.arange(1, 5) ** 0.5
        phase = rng.uniform(0, 2 * np.pi, 4)
        colour = _ROCKS[rng.integers(len(_ROCKS))] * rng.uniform(0.85, 1.12)
        flat = rng.uniform(0.5, 1.1)
        rb = int(np.ceil(r * 0.9))
        body = np.ix_(np.arange(int(cy) - rb, int(cy) + rb + 1) % py, np.arange(int(cx) - rb, int(cx) + rb + 1) % px)
        if alpha[body].max() > 0.05:
            continue  # cheap early rejection of overlapping stones
        sh_off = 0.35 * r + 0.6
        sigma = 0.3 * r + 0.5
        half = int(np.ceil(r + sh_off + 3.0 * sigma + 2))
        ys = np.arange(int(cy) - half, int(cy) + half + 1)
        xs = np.arange(int(cx) - half, int(cx) + half + 1)
        dy = (ys + 0.5 - cy)[:, None]
        dx = (xs + 0.5 - cx)[None, :]
        ca, sa = np.cos(ang), np.sin(ang)
        u_ = (dx * ca + dy * sa) / r
        v_ = (-dx * sa + dy * ca) / (r * aspect)
        theta = np.arctan2(v_, u_)
        wobble = 1.0 + sum(harm[k] * np.cos((k + 2) * theta + phase[k]) for k in range(4))
        rho = np.hypot(u_, v_) / wobble
        a = np.clip((1.0 - rho) * r * aspect + 0.5, 0.0, 1.0)
        if not a.any():
            continue
        z2 = np.clip(1.0 - rho**2, 0.0, 1.0)
        z = flat * np.sqrt(z2)
        gx = -flat * u_ / (np.sqrt(z2) + 0.15)
        gy = -flat * v_ / (np.sqrt(z2) + 0.15)
        # Back to image axes.
        nx_ = gx * ca - gy * sa
        ny_ = gx * sa + gy * ca
        nz = np.ones_like(nx_)
        norm = np.sqrt(nx_**2 + ny_**2 + nz**2)
        lam = np.clip(-(nx_ * light[0] + ny_ * light[1]) / norm + nz * light[2] / norm, 0.0, 1.0)
        shade = 0.42 + 0.78 * lam + 0.04 * z
        speck = 1.0 + 0.05 * rng.standard_normal(a.shape)
        lit = colour[:, None, None] * (shade * speck)[None]
        # Soft drop shadow to the south-east.
        sy = sx = round(sh_off)
        sha = np.zeros_like(a)
        sha[sy:, sx:] = a[: a.shape[0] - sy, : a.shape[1] - sx]
        sha = cv2.GaussianBlur(sha, (0, 0), sigma)
        ri = ys % py
        ci = xs % px
        idx = np.ix_(ri, ci)
        old = alpha[idx]
        if np.any((old > 0.05) & (a > 0.05)):
            continue  # no stacking: hiding a front stone must not reveal a fragment of another
        # Pixels that now belong to this stone (body or shadow) take its key and shadow, so
        # hiding or showing the stone never leaves a fragment of it behind.
        new_shadow = sha * (1.0 - a) * 0.5
        old_shadow = shadow[idx]
        own = (a > 0.02) | ((new_shadow > np.maximum(old_shadow, 0.01)) & (old < 0.05))
        shadow[idx] = np.where(own, new_shadow, old_shadow)
        key[idx] = np.where(own, rng.uniform(0.0, 1.0), key[idx])
        for ch in range(3):
            rgb[ch][idx] = rgb[ch][idx] * (1.0 - a) + lit[ch] * a
        alpha[idx] = old + a * (1.0 - old)
        area += np.pi * r * r * aspect
    out = np.empty((6, py, px), dtype=np.uint8)
    inv = 1.0 / np.maximum(alpha, 1e-3)
    inv[alpha <= 1e-3] = 0.0
    for ch in range(3):
        out[ch] = np.clip(np.rint(rgb[ch] * inv), 0, 255)
    out[3] = np.clip(np.rint(alpha * 255), 0, 255)
    out[4] = np.clip(np.rint(key * 255), 0, 255)
    out[5] = np.clip(np.rint(shadow * 255), 0, 255)
    return _pad_periodic(out)  # type: ignore[return-value]


def _field_layer(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.uint16]:
    """Isotropic mid-scale fields (moisture, vegetation tufts, brightness) quantised to uint16."""
    bands = [(1 / 500, 1 / 40, 1.4), (1 / 160, 1 / 14, 1.2), (1 / 300, 1 / 15, 1.2)]
    out = np.empty((3, *shape), dtype=np.uint16)
    for k, (lo, hi, beta) in enumerate(bands):
        f = np.clip(0.5 + 0.17 * _periodic_noise(rng, shape, lo, hi, beta), 0.0, 1.0)
        out[k] = np.rint(f * 65535.0)
    return _pad_periodic(out)  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _layers() -> _Layers:
    """Periodic layers (built once per process, about 40 MB); seeds shift them differently."""
    rng = np.random.default_rng(0x7E44A1)
    return _Layers(
        grain_a=_grain_layer(rng, (1024, 1024)),
        grain_b=_grain_layer(rng, (1152, 896)),
        fields=_field_layer(rng, (1536, 1408)),
        stones=_stone_layer(rng, (1280, 1408), 0.12),
    )


def _offsets(seed: int) -> NDArray[np.int64]:
    """Per-seed shifts ``(row, col)`` of the four periodic layers."""
    k = np.arange(8, dtype=np.int64)
    return (_hash_u32(k, k * 0 + 17, seed) % np.uint64(1 << 20)).astype(np.int64).reshape(4, 2)


def _periodic_view(layer: NDArray[_G], row0: int | np.integer, col0: int | np.integer, h: int, w: int) -> NDArray[_G]:
    """Window of a padded periodic layer (a view; needs ``h, w <= _BLOCK``)."""
    py, px = _Layers.period(layer)
    r, c = int(row0) % py, int(col0) % px
    return layer[..., r : r + h, c : c + w]


def _value_noise_at(rows: NDArray[np.int64], cols: NDArray[np.int64], spacing: float, seed: int) -> NDArray[np.float32]:
    """Same field as :func:`value_noise`, sampled at scattered pixels."""
    py = (rows.astype(np.float64) + 0.5) / spacing
    px = (cols.astype(np.float64) + 0.5) / spacing
    iy, ix = np.floor(py), np.floor(px)
    fy, fx = py - iy, px - ix
    fy = fy * fy * fy * (fy * (fy * 6.0 - 15.0) + 10.0)
    fx = fx * fx * fx * (fx * (fx * 6.0 - 15.0) + 10.0)
    y0, x0 = iy.astype(np.int64), ix.astype(np.int64)
    v00, v01 = hash_unit(y0, x0, seed), hash_unit(y0, x0 + 1, seed)
    v10, v11 = hash_unit(y0 + 1, x0, seed), hash_unit(y0 + 1, x0 + 1, seed)
    top = v00 + (v01 - v00) * fx
    bottom = v10 + (v11 - v10) * fx
    return (top + (bottom - top) * fy).astype(np.float32)


def stone_cover(cols: NDArray[np.floating], rows: NDArray[np.floating], seed: int) -> NDArray[np.float32]:
    """Opacity (0..1) of the visible stones at global pixel positions ``(col, row)``.

    Crack generators use it to steer around stones, as real cracks do.
    """
    lay = _layers()
    off = _offsets(seed)
    py, px = _Layers.period(lay.stones)
    r = np.floor(np.asarray(rows)).astype(np.int64)
    c = np.floor(np.asarray(cols)).astype(np.int64)
    ri, ci = (r + off[3, 0]) % py, (c + off[3, 1]) % px
    density = 0.25 + 0.5 * _value_noise_at(r, c, _STONE_DENSITY_SPACING, seed * 16 + 10)
    vis = np.clip((density - lay.stones[4, ri, ci] * (1.0 / 255.0)) * 30.0, 0.0, 1.0)
    cover: NDArray[np.float32] = (lay.stones[3, ri, ci] * (1.0 / 255.0) * vis).astype(np.float32)
    return cover


def _render_block(out: NDArray[np.uint8], row0: int, col0: int, seed: int) -> None:
    """Render one block of at most ``_BLOCK`` x ``_BLOCK`` into ``out`` (3, h, w)."""
    _, h, w = out.shape
    lay = _layers()
    off = _offsets(seed)
    s = seed * 16

    def vn(spacing: float, k: int) -> NDArray[np.float32]:
        return value_noise(row0, col0, h, w, spacing, s + k)

    # Grain: blend of two layers with different periods, weighted by aperiodic noise.
    ga = _periodic_view(lay.grain_a, row0 + off[0, 0], col0 + off[0, 1], h, w)
    gb = _periodic_view(lay.grain_b, row0 + off[1, 0], col0 + off[1, 1], h, w)
    mix = _smooth01((vn(310.0, 1) - 0.2) * 1.6)
    grain = gb + (ga - gb) * mix

    fl = _periodic_view(lay.fields, row0 + off[2, 0], col0 + off[2, 1], h, w)
    q = np.float32(1.0 / 65535.0)
    # Brightness: large-scale illumination, mid-scale undulation.
    bright = 0.9 + 0.2 * vn(4200.0, 2)
    bright *= 0.8 + 0.1 * vn(700.0, 3) + 0.2 * fl[2].astype(np.float32) * q
    # Moisture: darker, slightly more saturated patches.
    moist = _smooth01((fl[0].astype(np.float32) * (0.7 * q) + vn(650.0, 5) * 0.3 - 0.58) * 3.0)
    bright *= 1.0 - 0.28 * moist
    lum = grain * bright

    # Soil colour: brown base mixed towards grey debris and ochre clay.
    w_grey = _smooth01((vn(900.0, 7) - 0.35) * 2.2) * 0.85
    w_ochre = _smooth01((vn(520.0, 8) - 0.45) * 2.5) * 0.8
    tint = vn(37.0, 9) - 0.5

    # Stones, shown where the aperiodic density exceeds each stone's key.
    st = _periodic_view(lay.stones, row0 + off[3, 0], col0 + off[3, 1], h, w)
    density = 0.25 + 0.5 * vn(_STONE_DENSITY_SPACING, 10)
    vis = (density - st[4].astype(np.float32) * (1.0 / 255.0)) * 30.0
    np.clip(vis, 0.0, 1.0, out=vis)
    a_st = st[3].astype(np.float32) * (1.0 / 255.0) * vis
    shadow = 1.0 - st[5].astype(np.float32) * (1.0 / 255.0) * vis

    # Vegetation tufts: small blobs where the tuft noise is high, grouped by a density field.
    veg = fl[1].astype(np.float32) * q + 0.5 * vn(450.0, 13) + 0.12 * (grain - 1.0)
    veg = _smooth01((veg - 1.14) * 9.0)
    dry = vn(140.0, 14)

    inv_st = 1.0 - a_st
    for ch in range(3):
        base = _BROWN[ch] + (_GREY[ch] - _BROWN[ch]) * w_grey + (_OCHRE[ch] - _BROWN[ch]) * w_ochre
        base *= 1.0 + (0.05 * (1 - ch)) * tint + 0.06 * moist * (1 - ch)
        c = base * lum * shadow
        c *= inv_st
        stone = st[ch].astype(np.float32) * 0.75 + base * 0.25  # dusted with soil
        c += stone * a_st * (bright * 0.4 + 0.6) * (grain * 0.5 + 0.5)
        green = _GREEN[ch] + (_DRY_GREEN[ch] - _GREEN[ch]) * dry
        green = green * (grain * 1.6 - 0.6) * bright
        c += (green - c) * veg
        np.clip(c, 1.0, 255.0, out=c)
        out[ch] = c + 0.5


def render_terrain(window_col0: int, window_row0: int, height: int, width: int, seed: int) -> NDArray[np.uint8]:
    """Render a window of the synthetic slope surface.

    Args:
        window_col0: Global column of the window's first pixel.
        window_row0: Global row of the window's first pixel.
        height: Window height in pixels.
        width: Window width in pixels.
        seed: Scene seed.

    Returns:
        ``(height, width, 3)`` uint8 RGB array; values are never 0 (0 is kept for no-data).

    """
    bands = np.empty((3, height, width), dtype=np.uint8)
    render_terrain_into(bands, window_col0, window_row0, seed)
    return np.ascontiguousarray(bands.transpose(1, 2, 0))


def render_terrain_into(out: NDArray[np.uint8], window_col0: int, window_row0: int, seed: int) -> None:
    """Render terrain into a band-first ``(3, H, W)`` uint8 array (or view) in place.

    Args:
        out: Destination, band-first.
        window_col0: Global column of ``out[:, :, 0]``.
        window_row0: Global row of ``out[:, 0, :]``.
        seed: Scene seed.

    """
    _, h, w = out.shape
    r_end, c_end = window_row0 + h, window_col0 + w
    r = window_row0
    while r < r_end:
        rb = min(r_end, (r // _BLOCK + 1) * _BLOCK)
        c = window_col0
        while c < c_end:
            cb = min(c_end, (c // _BLOCK + 1) * _BLOCK)
            _render_block(out[:, r - window_row0 : rb - window_row0, c - window_col0 : cb - window_col0], r, c, seed)
            c = cb
        r = rb
