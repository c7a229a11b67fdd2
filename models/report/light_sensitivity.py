"""How the light of a survey changes what ``detect`` finds: recall / F1 within 2 px per light.

Each drawn held-out crack photo (``held_out.py``) is run through the whole shipped ``detect``
pipeline as it is and under other light, as one repeat flight differs from another (the
scenario suites' range: gain 0.75-1.25, gamma 0.8-1.2), lit as a scenario survey is
(``geowarn.harness.scenario.compose.apply_illumination``: ``((x / 255) ** gamma) * gain * 255``).

    .venv/bin/python models/report/light_sensitivity.py --data ../shared/data --per-source 30
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from held_out import detected_counts, sampled_sources
from numpy.typing import NDArray

from geowarn.harness.scenario.compose import Illumination, apply_illumination
from geowarn.metrics.tolerance import ToleranceCounts
from geowarn.pipeline.detect_config import DetectConfig
from geowarn.pipeline.rows import load_cascade

#: (name, gain, gamma) of each light; "as is" first.
LIGHTS = (
    ("as is", 1.0, 1.0),
    ("gain 0.8", 0.8, 1.0),
    ("gain 1.25", 1.25, 1.0),
    ("gamma 0.83", 1.0, 0.83),
    ("gamma 1.2", 1.0, 1.2),
)


def relit(image: NDArray[np.uint8], gain: float, gamma: float) -> NDArray[np.uint8]:
    """``image`` under another light, as a scenario survey is lit (no colour cast, noise or blur)."""
    light = Illumination(gain=gain, gamma=gamma, colour_cast=(1.0, 1.0, 1.0), noise_sigma=0.0, blur_sigma=0.0)
    return apply_illumination(image, light, np.random.default_rng(0))


def main() -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--per-source", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = DetectConfig()
    cascade = load_cascade(config)
    print(f"{'source':<22}{'n':>4}  " + "  ".join(f"{name:>10}" for name, _, _ in LIGHTS) + "   (recall)")
    totals = {name: ToleranceCounts() for name, _, _ in LIGHTS}
    with tempfile.TemporaryDirectory() as tmp:
        for source, pairs in sampled_sources(args.data, args.per_source, args.seed):
            counts = {name: ToleranceCounts() for name, _, _ in LIGHTS}
            for image, truth in pairs:
                for name, gain, gamma in LIGHTS:
                    counts[name] += detected_counts(relit(image, gain, gamma), truth, Path(tmp), config, cascade)
            for name in counts:
                totals[name] += counts[name]
            print(f"{source:<22}{len(pairs):>4}  " + "  ".join(f"{counts[n].recall:>10.3f}" for n in counts))
    print(f"{'all (pooled) recall':<26}" + "  ".join(f"{totals[n].recall:>10.3f}" for n in totals))
    print(f"{'all (pooled) F1':<26}" + "  ".join(f"{totals[n].f1:>10.3f}" for n in totals))


if __name__ == "__main__":
    main()
