"""Scores for crack classifiers and segmenters, with plain-text tables for reports."""

from geowarn.scoring.classification import classification_report, format_classification_table
from geowarn.scoring.segmentation import DEFAULT_SWEEP, SegmentationScorer, format_segmentation_table

__all__ = [
    "DEFAULT_SWEEP",
    "SegmentationScorer",
    "classification_report",
    "format_classification_table",
    "format_segmentation_table",
]
