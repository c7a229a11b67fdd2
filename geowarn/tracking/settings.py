"""Tracking settings: matching, growth significance, joins across gaps and the look-back.

They are keys of the ``rules:`` section of a site's YAML (``geowarn.workspace.site_config``);
``config/site.example.yaml`` documents each with its default. Distances in pixels are in the
survey's pixels (its ground sample distance).
"""

from __future__ import annotations

from pydantic import Field

from geowarn.settings import Settings


class TrackingSettings(Settings):
    """How cracks are matched across surveys and how their growth is measured."""

    significance_sigma: float = Field(2.0, gt=0)  # a change counts above this many of its 1-sigma uncertainties
    tip_noise_px: float = Field(2.5, ge=0)  # segmentation variability of crack tips between surveys, per survey
    tip_noise_width_share: float = Field(0.5, ge=0)  # ... and at least this share of the crack's mean width
    footprint_tolerance_px: float = Field(3.0, ge=0)  # extension counts beyond earlier detections by more than this
    min_branch_px: float = Field(10.0, ge=0)  # side branches shorter than this are skeleton spurs, not extension
    # extension and new cracks count only where both surveys imaged the ground, this far inside its edge
    # (the segmenter's context at a raster's edge), plus 3 sigma of co-registration
    edge_margin_px: float = Field(16.0, ge=0)
    match_buffer_m: float = Field(0.15, ge=0)  # cracks match within this (plus 3 sigma of co-registration)
    # a crack whose line moved sideways more than this (median, plus 3 sigma of co-registration) since the
    # survey before is a shadow edge or another line, not a fixed crack: its extension does not count
    max_line_shift_px: float = Field(1.5, gt=0)
    join_gap_px: float = Field(15.0, ge=0)  # a new piece starting this close ahead of a tip continues it (0: off)
    # ... and across the gap the segmenter's probability or the imagery's dark line shows crack (both 0: off)
    join_min_gap_prob: float = Field(0.35, ge=0, le=1)
    join_min_line_contrast: float = Field(0.06, ge=0, le=1)
    lookback_surveys: int = Field(3, ge=0)  # earlier surveys re-segmented under new-looking pieces (0: off)
    lookback_prob_threshold: float = Field(0.35, gt=0, le=1)  # earlier crack probability meaning "already there"
    # a point reads the highest probability within this radius (centring of the line, co-registration)
    lookback_radius_px: float = Field(2.0, ge=0)
    lookback_line_ratio: float = Field(0.5, ge=0, le=1)  # earlier dark-line contrast share meaning "already there"
    lookback_min_line_contrast: float = Field(0.1, ge=0, le=1)  # current line contrast below which a piece is no crack
    line_smooth_px: float = Field(5.0, ge=0)  # running median along a line before its contrast is compared
    # opening (alerts) from the ground's displacement on both sides of a crack; False: from the segmented width
    opening_from_ground: bool = True
    opening_lod_px: float = Field(2.0, ge=0)  # level of detection: smaller openings are never significant
    noise_min_tracks: int = Field(5, ge=3)  # tracks needed to estimate a survey pair's empirical noise floor
    failure_rates: int = Field(5, ge=2)  # most recent extension rates the inverse-velocity fit uses
