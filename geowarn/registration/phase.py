"""Illumination-robust phase correlation with sub-pixel peaks and a significance score.

Surveys of one site differ in sun, exposure and camera response. Images are compared as the
local contrast of log grey level: the log turns exposure gain and gamma into an offset and a
factor, subtracting the local mean removes the offset and smooth illumination gradients, and
dividing by the local standard deviation removes the factor. Phase correlation then whitens
the spectrum, so what remains to match is the position of edges and texture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

FloatImage = NDArray[np.float32]

#: Gaussian scale (px) of the local mean and contrast used to remove illumination.
NORMALISE_SIGMA_PX = 6.0
#: Relative contrast (local standard deviation of log grey) below which a surface is flat for
#: matching: blank, saturated or snow-covered ground, calm water, sensor noise alone (real
#: orthomosaics of soil, rock and vegetation show 10–50%).
FLAT_CONTRAST = 0.015
#: Smallest contrast that normalisation divides by, so that noise in flat areas is not amplified.
CONTRAST_FLOOR = 0.004
#: Spectral weight of the cross-power: Gaussian of this width (cycles/px) damps noisy high frequencies.
SPECTRAL_SIGMA = 0.2
#: Upsampling of the correlation peak for the sub-pixel estimate.
UPSAMPLE = 16


@dataclass(frozen=True)
class PhaseResult:
    """Shift of the moving image relative to the reference, in pixels (x right, y down).

    ``significance`` is the height of the correlation peak in robust standard deviations of the
    correlation surface: about 4–6 for unrelated images, tens for matching ones.
    """

    dx: float
    dy: float
    peak: float
    significance: float


def _blur(image: NDArray[np.floating[Any]], sigma: float) -> FloatImage:
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT).astype(np.float32)


def normalise(
    gray: FloatImage, valid: NDArray[np.bool_], sigma: float = NORMALISE_SIGMA_PX
) -> tuple[FloatImage, FloatImage]:
    """Local contrast of log grey level, zero outside ``valid``.

    Returns:
        (normalised image, local relative contrast): the contrast map is the local standard
        deviation of log grey level (0.01 = 1% contrast), the texture measure for patch choice.

    """
    mask = valid.astype(np.float32)
    log = np.log1p(np.maximum(gray, 0.0)).astype(np.float32)
    support = np.maximum(_blur(mask, sigma), 1e-3)
    mean = _blur(log * mask, sigma) / support
    high = (log - mean) * mask
    contrast = np.sqrt(np.maximum(_blur(high * high, sigma) / support, 0.0)) * mask
    typical = float(np.median(contrast[valid])) if valid.any() else 0.0
    floor = max(CONTRAST_FLOOR, 0.5 * typical)
    return (high / np.maximum(contrast, floor)).astype(np.float32), contrast.astype(np.float32)


def taper(valid: NDArray[np.bool_]) -> FloatImage:
    """Hanning window times a softened validity mask: no edges of the frame or of no-data correlate."""
    h, w = valid.shape
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    mask = valid.astype(np.float32)
    soft = _blur(mask, 2.0) * mask
    return (window * soft).astype(np.float32)


def _upsampled_peak(spectrum: NDArray[np.complex128], py: int, px: int, factor: int) -> tuple[float, float]:
    """Correlation evaluated on a 1/``factor`` px lattice within ±1 px of (py, px) by matrix DFT."""
    h, w = spectrum.shape
    offsets = np.arange(-factor, factor + 1) / factor
    ey = np.exp(2j * np.pi * np.outer(py + offsets, np.fft.fftfreq(h)))
    ex = np.exp(2j * np.pi * np.outer(np.fft.fftfreq(w), px + offsets))
    local = np.real(ey @ spectrum @ ex)
    iy, ix = np.unravel_index(int(np.argmax(local)), local.shape)

    def vertex(m1: float, c0: float, p1: float) -> float:
        denom = m1 - 2.0 * c0 + p1
        return 0.0 if denom >= 0 else float(np.clip(0.5 * (m1 - p1) / denom, -0.5, 0.5))

    sub_y = sub_x = 0.0
    if 0 < iy < local.shape[0] - 1:
        sub_y = vertex(local[iy - 1, ix], local[iy, ix], local[iy + 1, ix])
    if 0 < ix < local.shape[1] - 1:
        sub_x = vertex(local[iy, ix - 1], local[iy, ix], local[iy, ix + 1])
    return py + (iy - factor + sub_y) / factor, px + (ix - factor + sub_x) / factor


def phase_correlate(
    reference: FloatImage,
    moving: FloatImage,
    weight_ref: FloatImage,
    weight_mov: FloatImage,
    max_shift_px: float,
) -> PhaseResult:
    """Shift of ``moving`` relative to ``reference`` (content at p in reference is at p + shift in moving).

    The peak is searched within ``max_shift_px`` of zero and refined to ~0.01 px by evaluating
    the correlation on an upsampled lattice around it.
    """
    h, w = reference.shape
    f_ref = np.fft.fft2(reference * weight_ref)
    f_mov = np.fft.fft2(moving * weight_mov)
    cross = f_mov * np.conj(f_ref)
    magnitude = np.abs(cross)
    scale = float(magnitude.max())
    if not math.isfinite(scale) or scale <= 0:
        return PhaseResult(dx=0.0, dy=0.0, peak=0.0, significance=0.0)
    cross /= magnitude + 1e-6 * scale
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    cross *= np.exp(-(fx * fx + fy * fy) / (2.0 * SPECTRAL_SIGMA**2))
    surface = np.real(np.fft.ifft2(cross))
    sy = np.fft.fftfreq(h, 1.0 / h)  # signed shift of each row index
    sx = np.fft.fftfreq(w, 1.0 / w)
    radius = min(max_shift_px, h / 2 - 1, w / 2 - 1)
    allowed = (sy[:, None] ** 2 + sx[None, :] ** 2) <= radius * radius
    search = np.where(allowed, surface, -np.inf)
    iy, ix = np.unravel_index(int(np.argmax(search)), search.shape)
    peak = float(surface[iy, ix])
    median = float(np.median(surface))
    spread = 1.4826 * float(np.median(np.abs(surface - median)))
    significance = (peak - median) / spread if spread > 0 else 0.0
    dy, dx = _upsampled_peak(cross, int(sy[iy]), int(sx[ix]), UPSAMPLE)
    return PhaseResult(dx=dx, dy=dy, peak=peak, significance=significance if math.isfinite(significance) else 0.0)


def similarity(reference: FloatImage, moving: FloatImage, weight: FloatImage) -> float:
    """Weighted correlation coefficient of two aligned normalised images (-1..1)."""
    total = float(weight.sum())
    if total <= 0:
        return 0.0
    ma = float((reference * weight).sum()) / total
    mb = float((moving * weight).sum()) / total
    a = reference - ma
    b = moving - mb
    den = math.sqrt(float((a * a * weight).sum()) * float((b * b * weight).sum()))
    return float((a * b * weight).sum()) / den if den > 0 else 0.0
