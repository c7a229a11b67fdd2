"""Shorten a real crack: order its skeleton along the longest path and erase the far part.

Method:
    * :func:`crack_path_order` skeletonises one crack component, joins the skeleton pixels
      by 8-neighbour edges (length 1 or sqrt(2)) and finds its longest path with two
      Dijkstra sweeps (exact on a tree; skeleton loops are rare and handled approximately).
      Every pixel gets the geodesic distance, along the skeleton from the start tip, of its
      nearest skeleton pixel.
    * :func:`kept_part` keeps the component pixels within a cut distance. Over the last
      ``max(TAPER_MIN_PX, TAPER_RADII * r)`` px before the cut the kept half width narrows
      linearly to the axis, so the shortened crack ends in a natural pointed tip instead of
      a flat cut.
    * :class:`CrackEraser` fills the whole component once: the region is the component
      dilated by ``HALO_PX`` plus the dark pixels (local darkness ``DARK_DN`` below a 21 px
      median) within ``DARK_REACH_PX`` of it, since hand-drawn masks are often narrower than
      the visible crack. The fill is the local mean of the surface around the region
      (normalised Gaussian convolution over the crack-free pixels, so it is not biased
      towards the bright pixels left at the region's edge) plus the texture (pixel minus its
      local mean) of a crack-free donor patch, chosen per ``CHUNK_PX`` stretch along the
      crack, so the patch is as grainy as the surface around it. Any cut then
      blends this fill over the removed part with a soft 1 px edge: every cut of one crack
      shows the same ground where the crack is absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from skimage.morphology import skeletonize

from geowarn.errors import GeowarnError

__all__ = [
    "CrackEraser",
    "CrackPath",
    "ScenarioInputError",
    "crack_path_order",
    "kept_part",
    "largest_component",
    "truncate_crack",
]

#: Minimum taper length (px) of a cut tip.
TAPER_MIN_PX = 6.0
#: Taper length in local crack radii.
TAPER_RADII = 3.0
#: The erased region is the removed crack dilated by this many px ...
HALO_PX = 2
#: ... plus the pixels this much darker (DN) than their 21 px median ...
DARK_DN = 12.0
#: ... within this distance (px) of the removed crack.
DARK_REACH_PX = 6
#: Stretch of crack (px along the skeleton) filled from one donor patch.
CHUNK_PX = 40.0
#: Donor patches keep this distance (px) from every crack pixel.
DONOR_CLEAR_PX = 6
#: Dark connected structures of at least this area (px) are kept out of donor patches.
DARK_LINE_AREA_PX = 40
#: Donor shift radii (px) tried, nearest first.
DONOR_RADII = tuple(range(14, 97, 6))
#: Gaussian sigma (px) of the local surface mean; the donor adds what varies faster.
LOW_SIGMA = 5.0


class ScenarioInputError(GeowarnError, ValueError):
    """An image or mask given to the scenario tools cannot be used."""


@dataclass(frozen=True)
class CrackPath:
    """The longest skeleton path of one crack component.

    Attributes:
        pixels: (N, 2) (row, col) skeleton pixels from the start tip to the far tip.
        arc: (N,) distance along ``pixels`` from the start tip (px, diagonal steps sqrt(2)).
        along: (H, W) geodesic distance from the start tip, along the skeleton, of each
            pixel's nearest skeleton pixel (all skeleton branches, not only the path).
        offaxis: (H, W) Euclidean distance of each pixel to its nearest skeleton pixel.
        radius: (H, W) crack radius (distance transform of the component) at each pixel's
            nearest skeleton pixel.

    """

    pixels: NDArray[np.int64]
    arc: NDArray[np.float64]
    along: NDArray[np.float64]
    offaxis: NDArray[np.float64]
    radius: NDArray[np.float64]

    @property
    def length(self) -> float:
        """Length of the longest path (px)."""
        return float(self.arc[-1]) if self.arc.size else 0.0


def _as_mask(mask: NDArray[np.generic], what: str = "mask") -> NDArray[np.bool_]:
    """2-D boolean view of a mask, or a clear error."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ScenarioInputError(f"{what} must be 2-D, got shape {arr.shape}")
    return arr.astype(bool)


def largest_component(mask: NDArray[np.generic]) -> NDArray[np.bool_]:
    """The largest 8-connected component of a mask.

    Raises:
        ScenarioInputError: If the mask is not 2-D or has no crack pixel.

    """
    m = _as_mask(mask)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    if n <= 1:
        raise ScenarioInputError("mask has no crack pixel; pass a mask with at least one crack")
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.asarray(labels == k)


def _skeleton_graph(skel: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64], coo_matrix]:
    """Skeleton pixel coordinates and their 8-neighbour graph (edge lengths 1 or sqrt(2))."""
    rows, cols = np.nonzero(skel)
    index = np.full(skel.shape, -1, dtype=np.int64)
    index[rows, cols] = np.arange(rows.size)
    h, w = skel.shape
    src, dst, weight = [], [], []
    for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
        r2, c2 = rows + dr, cols + dc
        ok = (r2 >= 0) & (r2 < h) & (c2 >= 0) & (c2 < w)
        j = np.full(rows.size, -1, dtype=np.int64)
        j[ok] = index[r2[ok], c2[ok]]
        hit = j >= 0
        src.append(np.flatnonzero(hit))
        dst.append(j[hit])
        weight.append(np.full(int(hit.sum()), float(np.hypot(dr, dc))))
    n = rows.size
    graph = coo_matrix((np.concatenate(weight), (np.concatenate(src), np.concatenate(dst))), shape=(n, n))
    return rows.astype(np.int64), cols.astype(np.int64), graph


def _farthest(dist: NDArray[np.float64]) -> int:
    """Index of the largest finite distance."""
    return int(np.argmax(np.where(np.isfinite(dist), dist, -1.0)))


def crack_path_order(mask: NDArray[np.generic], *, reverse: bool = False) -> CrackPath:
    """Order a crack's skeleton along its longest path.

    Args:
        mask: 2-D crack mask; when it holds several 8-connected components the largest is used.
        reverse: Start from the other tip of the longest path.

    Returns:
        The path from the start tip to the far tip, and the distance fields of every pixel.

    Raises:
        ScenarioInputError: If the mask is not 2-D or has no crack pixel.

    """
    comp = largest_component(mask)
    skel = np.asarray(skeletonize(comp), dtype=bool)
    if not skel.any():  # pragma: no cover - skeletonize keeps a pixel of every component
        skel = comp.copy()
    rows, cols, graph = _skeleton_graph(skel)
    d0 = np.asarray(dijkstra(graph, directed=False, indices=0))
    a = _farthest(d0)
    da, pred = dijkstra(graph, directed=False, indices=a, return_predecessors=True)
    b = _farthest(np.asarray(da))
    chain = [b]
    while chain[-1] != a:
        chain.append(int(pred[chain[-1]]))
    order = np.asarray(chain[::-1], dtype=np.int64)  # a -> b
    if reverse:
        order = order[::-1]
        dist = np.asarray(dijkstra(graph, directed=False, indices=b))
    else:
        dist = np.asarray(da)
    dist = np.where(np.isfinite(dist), dist, 0.0)
    pixels = np.stack([rows[order], cols[order]], axis=1)
    steps = np.hypot(*np.diff(pixels, axis=0).T) if order.size > 1 else np.zeros(0)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    node_of = np.full(skel.shape, -1, dtype=np.int64)
    node_of[rows, cols] = np.arange(rows.size)
    offaxis, (ir, ic) = ndimage.distance_transform_edt(~skel, return_indices=True)
    nearest = node_of[ir, ic]
    edt = cv2.distanceTransform(comp.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE).astype(np.float64)
    radius = edt[rows, cols][nearest]
    return CrackPath(
        pixels=pixels.astype(np.int64),
        arc=arc.astype(np.float64),
        along=dist[nearest].astype(np.float64),
        offaxis=np.asarray(offaxis, dtype=np.float64),
        radius=radius,
    )


def kept_part(path: CrackPath, component: NDArray[np.generic], cut: float) -> NDArray[np.bool_]:
    """Pixels of ``component`` kept when the crack is cut ``cut`` px from the start tip.

    The kept part is one connected piece holding the start tip, ending in a tapered tip.
    ``cut <= 0`` keeps nothing; a cut at or beyond the farthest skeleton pixel keeps all.
    """
    comp = _as_mask(component, "component")
    if cut <= 0:
        return np.zeros_like(comp)
    if cut >= float(path.along[comp].max(initial=0.0)):
        return comp.copy()
    taper = np.maximum(TAPER_MIN_PX, TAPER_RADII * path.radius)
    frac = np.clip((cut - path.along) / taper, 0.0, 1.0)
    keep = comp & (path.along <= cut) & ((frac >= 1.0) | (path.offaxis <= np.maximum(0.75, path.radius * frac)))
    n, labels = cv2.connectedComponents(keep.astype(np.uint8), connectivity=8)
    if n <= 1:
        return keep
    r0, c0 = (int(v) for v in path.pixels[0])
    label = int(labels[r0, c0])
    if label == 0:
        cand = np.where(keep, path.along, np.inf)
        label = int(labels.flat[int(np.argmin(cand))])
    return np.asarray(labels == label)


def _disk(radius: int) -> NDArray[np.uint8]:
    """Elliptic structuring element of the given radius."""
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)), dtype=np.uint8)


def _dilate(mask: NDArray[np.bool_], radius: int) -> NDArray[np.bool_]:
    """Binary dilation by a disk."""
    if radius <= 0:
        return mask.copy()
    return np.asarray(cv2.dilate(mask.astype(np.uint8), _disk(radius)) > 0)


def _grey(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Mean of the channels as float32."""
    return np.asarray(image.mean(axis=2) if image.ndim == 3 else image, dtype=np.float32)


def _dark(image: NDArray[np.uint8], threshold: float) -> NDArray[np.bool_]:
    """Pixels darker than their 21 px median by more than ``threshold`` DN."""
    grey = _grey(image)
    median = cv2.medianBlur(np.clip(np.rint(grey), 0, 255).astype(np.uint8), 21).astype(np.float32)
    return np.asarray(grey < median - threshold)


def _dark_lines(image: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Clearly dark connected structures (unlabelled cracks, stains), not single grains."""
    dark = _dark(image, 2 * DARK_DN).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    big = np.zeros(n, dtype=bool)
    big[1:] = stats[1:, cv2.CC_STAT_AREA] >= DARK_LINE_AREA_PX
    return np.asarray(big[labels])


def _donor_offsets(rng: np.random.Generator) -> list[tuple[int, int]]:
    """Candidate donor shifts, ring by ring outwards, in a random order within each ring."""
    out: list[tuple[int, int]] = []
    for radius in DONOR_RADII:
        n = max(8, int(2 * np.pi * radius / 6))
        angles = rng.permutation(n) * (2 * np.pi / n)
        out.extend((round(radius * np.sin(t)), round(radius * np.cos(t))) for t in angles)
    return out


def _local_mean(img: NDArray[np.float32], valid: NDArray[np.bool_], sigma: float) -> NDArray[np.float32]:
    """Gaussian-weighted mean of the valid pixels around each pixel (normalised convolution)."""
    weight = valid.astype(np.float32)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    num = cv2.GaussianBlur(img * (weight[:, :, None] if img.ndim == 3 else weight), (0, 0), sigma)
    if img.ndim == 3:
        den = den[:, :, None]
    return np.asarray(num / np.maximum(den, 1e-6), dtype=np.float32)


def _textured_fill(
    image: NDArray[np.uint8],
    region: NDArray[np.bool_],
    avoid: NDArray[np.bool_],
    chunks: NDArray[np.int64],
    rng: np.random.Generator,
) -> NDArray[np.uint8]:
    """Fill ``region``: local mean of the surface around it plus donor texture per chunk label."""
    img = image.astype(np.float32)
    valid = ~(region | avoid)  # dark grains stay in: the mean must include them
    low = _local_mean(img, valid, LOW_SIGMA)
    wide = _local_mean(img, valid, 4 * LOW_SIGMA)
    reach = cv2.GaussianBlur(valid.astype(np.float32), (0, 0), LOW_SIGMA)
    if img.ndim == 3:
        reach = reach[:, :, None]
    blend = np.clip(reach / 0.05, 0.0, 1.0)
    low = blend * low + (1.0 - blend) * wide  # far from any valid pixel: the wider mean
    detail = img - low
    out = img.copy()
    h, w = region.shape
    blocked = avoid | region
    offsets = _donor_offsets(rng)
    noise_sd = float(np.std(detail[valid])) if valid.any() else 4.0
    for chunk in np.unique(chunks[region]):
        rr, cc = np.nonzero(region & (chunks == chunk))
        best: tuple[int, int, int] | None = None
        for dr, dc in offsets:
            r2, c2 = rr + dr, cc + dc
            if r2.min() < 0 or c2.min() < 0 or r2.max() >= h or c2.max() >= w:
                continue
            bad = int(np.count_nonzero(blocked[r2, c2]))
            if best is None or bad < best[0]:
                best = (bad, dr, dc)
            if bad == 0:
                break
        if best is not None and best[0] <= 0.05 * rr.size:
            texture = detail[rr + best[1], cc + best[2]]
        else:
            texture = rng.normal(0.0, noise_sd, size=(rr.size, *img.shape[2:])).astype(np.float32)
        out[rr, cc] = low[rr, cc] + texture
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class CrackEraser:
    """Erase the far part of one crack component from an image, for any cut distance.

    The whole component is filled once (see the module docstring), so the ground shown
    where the crack is absent is the same for every cut.

    Args:
        image: (H, W, 3) or (H, W) uint8 image.
        mask: (H, W) mask of every crack in the image (other cracks are kept intact).
        component: (H, W) mask of the crack to shorten, a subset of ``mask``.
        path: :func:`crack_path_order` of ``component``.
        rng: Random generator for the donor patch search.

    Raises:
        ScenarioInputError: If the shapes or types do not match.

    """

    def __init__(
        self,
        image: NDArray[np.uint8],
        mask: NDArray[np.generic],
        component: NDArray[np.generic],
        path: CrackPath,
        rng: np.random.Generator,
    ) -> None:
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
            raise ScenarioInputError(f"image must be (H, W) or (H, W, 3) uint8, got {img.dtype} {img.shape}")
        all_mask = _as_mask(mask)
        comp = _as_mask(component, "component")
        if all_mask.shape != img.shape[:2] or comp.shape != img.shape[:2] or path.along.shape != img.shape[:2]:
            raise ScenarioInputError(
                f"image {img.shape[:2]}, mask {all_mask.shape}, component {comp.shape} and path "
                f"{path.along.shape} must have the same height and width"
            )
        self.image = img
        self.component = comp
        self.path = path
        self.others = all_mask & ~comp
        self.dark = _dark(img, DARK_DN)
        region = _dilate(self._core(comp), 1) & ~_dilate(self.others, 1)
        self.region = region
        avoid = _dilate(all_mask, DONOR_CLEAR_PX) | _dilate(_dark_lines(img), 2)
        chunks = np.floor(path.along / CHUNK_PX).astype(np.int64)
        self.filled = _textured_fill(img, region, avoid, chunks, rng)

    def _core(self, removed: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Removed crack pixels, their halo and the dark pixels next to them."""
        return _dilate(removed, HALO_PX) | (_dilate(removed, DARK_REACH_PX) & self.dark)

    def erase(self, cut: float) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
        """The image with the crack cut ``cut`` px from its start tip.

        Returns:
            (image, kept): the new image and the kept part of the component.

        """
        kept = kept_part(self.path, self.component, cut)
        removed = self.component & ~kept
        if not removed.any():
            return self.image.copy(), kept
        core = self._core(removed) & self.region & ~_dilate(kept, 1)
        alpha = cv2.GaussianBlur(_dilate(core, 1).astype(np.float32), (0, 0), 0.8)
        alpha[core] = 1.0
        alpha[~self.region | kept] = 0.0
        if self.image.ndim == 3:
            alpha = alpha[:, :, None]
        out = self.image.astype(np.float32) * (1.0 - alpha) + self.filled.astype(np.float32) * alpha
        return np.clip(np.rint(out), 0, 255).astype(np.uint8), kept


def truncate_crack(
    image: NDArray[np.uint8], mask: NDArray[np.generic], fraction: float, rng: np.random.Generator
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Shorten the largest crack of ``mask`` to ``fraction`` of its longest-path length.

    The tip kept is drawn from ``rng``; the far part is erased from the image.

    Args:
        image: (H, W, 3) or (H, W) uint8 image.
        mask: (H, W) crack mask (nonzero = crack); other components are left as they are.
        fraction: Share of the path length kept, 0 (crack erased) to 1 (unchanged).
        rng: Random generator (tip choice, donor patches).

    Returns:
        (image, kept_mask): the new image and the crack mask it shows (a subset of ``mask``).

    Raises:
        ScenarioInputError: If the inputs do not match or the mask is empty.

    """
    if not 0.0 <= fraction <= 1.0:
        raise ScenarioInputError(f"fraction must be within [0, 1], got {fraction}")
    all_mask = _as_mask(mask)
    comp = largest_component(all_mask)
    path = crack_path_order(comp, reverse=bool(rng.integers(2)))
    eraser = CrackEraser(image, all_mask, comp, path, rng)
    out, kept = eraser.erase(fraction * path.length if fraction < 1.0 else np.inf)
    return out, (all_mask & ~comp) | kept
