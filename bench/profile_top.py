"""Summarise a py-spy `--format raw` file: where the server's samples are, self and inclusive.

    python bench/profile_top.py bench-results/profile/a-pipechat.txt [--top 30] [--grep NAME]
"""

from __future__ import annotations

import argparse
from collections import Counter


def main() -> None:
    """Print the functions with most self and most inclusive samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(args.path) as raw:
        for line in raw:
            stack, _, count_text = line.rstrip().rpartition(" ")
            count = int(count_text)
            frames = [f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")").split(":")[0]
                      for f in stack.split(";")]
            total += count
            if frames:
                own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    print(f"{total} samples")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"-- {title}")
        for frame, count in counter.most_common(args.top):
            print(f"{100 * count / total:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
