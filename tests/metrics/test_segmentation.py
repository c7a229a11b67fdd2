from __future__ import annotations

import numpy as np
import pytest

from geowarn.metrics.segmentation import DEFAULT_SWEEP, SegmentationScorer, format_segmentation_table, image_counts
from geowarn.metrics.tolerance import tolerance_counts


def _line(shape: tuple[int, int], row: int) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[row, 4:28] = True
    return mask


def test_default_sweep() -> None:
    assert DEFAULT_SWEEP[0] == 0.05 and DEFAULT_SWEEP[-1] == 0.95 and len(DEFAULT_SWEEP) == 19


def test_shifted_line_scores_zero_exact_and_one_with_tolerance() -> None:
    truth = _line((32, 32), 10)
    prob = _line((32, 32), 11).astype(np.float32)
    scorer = SegmentationScorer()
    scorer.add(prob, truth)
    r = scorer.report()
    assert r["n_images"] == 1
    assert r["f1_0px"] == 0.0 and r["iou"] == 0.0
    assert r["precision_tol"] == 1.0 and r["recall_tol"] == 1.0 and r["f1_tol"] == 1.0
    assert r["ods_f1"] == 1.0 and r["ois_f1"] == 1.0


def test_known_masks_give_known_iou_and_exact_scores() -> None:
    truth = np.zeros((8, 8), bool)
    truth[2:6, 2:4] = True  # 8 pixels
    pred = np.zeros((8, 8), bool)
    pred[2:6, 3:5] = True  # 8 pixels, 4 overlapping
    scorer = SegmentationScorer(tolerance=0.0)
    scorer.add(pred.astype(np.float32), truth)
    r = scorer.report()
    assert r["iou"] == pytest.approx(4 / 12)
    assert r["precision_0px"] == pytest.approx(0.5) and r["recall_0px"] == pytest.approx(0.5)
    assert r["f1_tol"] == pytest.approx(r["f1_0px"])


def test_counts_sum_over_images() -> None:
    truth = _line((32, 32), 10)
    scorer = SegmentationScorer()
    scorer.add(truth.astype(np.float32), truth)  # perfect, 24 px
    scorer.add(np.zeros((32, 32), np.float32), truth)  # misses all 24 px
    r = scorer.report()
    assert r["precision_0px"] == 1.0 and r["recall_0px"] == pytest.approx(0.5)
    assert r["iou"] == pytest.approx(0.5)


def test_counts_match_distance_transform_reference() -> None:
    rng = np.random.default_rng(0)
    prob = rng.random((40, 48)).astype(np.float32) ** 3
    truth = rng.random((40, 48)) > 0.97
    thresholds = [0.1, 0.3, 0.55, 0.7, 0.9]
    for tolerance in (0.0, 1.0, 2.0, 3.5):
        counts, truth_total = image_counts(prob, truth, thresholds, tolerance)
        assert truth_total == int(truth.sum())
        for row, t in zip(counts, thresholds, strict=True):
            ref = tolerance_counts(prob >= t, truth, tolerance)
            assert (int(row[0]), int(row[1]), int(row[2])) == (ref.pred_total, ref.pred_matched, ref.truth_matched)
            assert int(row[3]) == int(((prob >= t) & truth).sum())


def test_ods_is_at_least_f1_at_every_sweep_threshold() -> None:
    rng = np.random.default_rng(1)
    scorer = SegmentationScorer(threshold=0.5)
    for row in (8, 16, 24):
        truth = _line((32, 32), row)
        prob = np.clip(truth * 0.6 + rng.random((32, 32)) * 0.5, 0, 1).astype(np.float32)
        scorer.add(prob, truth)
    r = scorer.report()
    assert r["ods_f1"] == max(p["f1"] for p in r["pr_curve"])
    assert r["ods_f1"] >= r["f1_tol"] - 1e-12
    assert r["ods_threshold"] in DEFAULT_SWEEP


def test_ois_exceeds_ods_when_images_prefer_different_thresholds() -> None:
    truth = _line((32, 32), 10)
    faint = np.where(truth, 0.3, 0.0).astype(np.float32)  # right only at thresholds <= 0.3
    background = np.zeros((32, 32), np.float32)
    background[20:30, 4:28] = 0.5  # 240 false pixels that thresholds <= 0.5 also keep
    bright = (np.where(truth, 0.9, 0.0) + background).astype(np.float32)  # right only above 0.5
    scorer = SegmentationScorer(sweep=[0.2, 0.4, 0.6, 0.8])
    scorer.add(faint, truth)
    scorer.add(bright, truth)
    r = scorer.report()
    assert r["ois_f1"] == pytest.approx(1.0)
    assert r["ods_f1"] < r["ois_f1"]


def test_invalid_inputs_are_refused() -> None:
    scorer = SegmentationScorer()
    with pytest.raises(ValueError, match="equal H x W"):
        scorer.add(np.zeros((4, 4), np.float32), np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        scorer.add(np.full((4, 4), 3.0, np.float32), np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="no images"):
        scorer.report()


def test_table_lists_each_model() -> None:
    truth = _line((32, 32), 10)
    scorer = SegmentationScorer()
    scorer.add(truth.astype(np.float32), truth)
    text = format_segmentation_table({"unet-s": scorer.report(), "baseline": scorer.report()})
    lines = text.splitlines()
    assert len(lines) == 3 and "F1@2px" in lines[0] and "OIS" in lines[0]
    assert lines[1].startswith("unet-s") and lines[2].startswith("baseline")


def test_crack_free_images_give_a_false_alarm_rate_per_threshold() -> None:
    truth = _line((32, 32), 10)
    scorer = SegmentationScorer(threshold=0.5, sweep=[0.25, 0.5, 0.75])
    scorer.add(truth.astype(np.float32), truth)  # a cracked image: not part of the rate
    free = np.zeros((32, 32), np.float32)
    free[:4, :] = 0.6  # 128 of 1,024 pixels above 0.5
    free[4:6, :] = 0.3  # 64 more above 0.25
    scorer.add(free, np.zeros((32, 32), bool))
    scorer.add(np.zeros((16, 16), np.float32), np.zeros((16, 16), bool))  # 256 clean pixels
    r = scorer.report()
    assert r["background_images"] == 2
    assert r["background_fp_rate"] == pytest.approx(128 / 1280)
    rates = [p["background_fp_rate"] for p in r["pr_curve"]]
    assert rates == pytest.approx([192 / 1280, 128 / 1280, 0.0])
    assert r["precision_tol"] < 1.0  # the false pixels still count against precision
    assert "bg FA %" in format_segmentation_table({"m": r}).splitlines()[0]
    assert format_segmentation_table({"m": r}).splitlines()[1].endswith("10.00")


def test_without_crack_free_images_there_is_no_false_alarm_rate() -> None:
    truth = _line((32, 32), 10)
    scorer = SegmentationScorer()
    scorer.add(truth.astype(np.float32), truth)
    r = scorer.report()
    assert r["background_images"] == 0 and r["background_fp_rate"] is None
    assert all(p["background_fp_rate"] is None for p in r["pr_curve"])
    assert "bg FA" not in format_segmentation_table({"m": r})
