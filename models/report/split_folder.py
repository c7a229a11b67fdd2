"""Split class folders into train/test by a seeded shuffle, as symlinks (the data is not copied).

    python3 models/report/split_folder.py SRC OUT --train-per-class N [--seed S]

SRC/<class>/* -> OUT/train/<class>/* (N per class) and OUT/test/<class>/* (the rest).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path


def main() -> None:
    """Write the split as symlinks and print the counts."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("src", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--train-per-class", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    for cls in sorted(d for d in args.src.iterdir() if d.is_dir()):
        files = sorted(f for f in cls.iterdir() if f.is_file())
        random.Random(f"{args.seed}-{cls.name}").shuffle(files)
        for part, chosen in (("train", files[: args.train_per_class]), ("test", files[args.train_per_class :])):
            dest = args.out / part / cls.name
            dest.mkdir(parents=True, exist_ok=True)
            for f in chosen:
                link = dest / f.name
                if not link.exists():
                    link.symlink_to(f.resolve())
            print(f"{part}/{cls.name}: {len(chosen)}")


if __name__ == "__main__":
    main()
