"""Sum the inputs a hypothesis run generated, from its ``--hypothesis-show-statistics`` output.

    .venv/bin/pytest tests/test_fuzz_decoder.py --hypothesis-profile=deep -q --hypothesis-show-statistics \\
        > /tmp/deep-run.log
    .venv/bin/python fuzz/count_examples.py /tmp/deep-run.log

Prints, per test, the passing, failing and invalid examples summed over hypothesis's phases (reuse, generate,
shrink), then the totals. Exits non-zero if any example failed or if no statistics were found.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_TEST = re.compile(r"^(\S+::\S+):$")
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


def count(text: str) -> dict[str, list[int]]:
    """{test id: [passing, failing, invalid]} from hypothesis's statistics output."""
    totals: dict[str, list[int]] = {}
    current = None
    for line in text.splitlines():
        test = _TEST.match(line.strip())
        if test:
            current = test.group(1)
            totals.setdefault(current, [0, 0, 0])
            continue
        counts = _COUNTS.search(line)
        if counts and current is not None:
            for i, value in enumerate(counts.groups()):
                totals[current][i] += int(value)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("log", type=Path)
    totals = count(parser.parse_args().log.read_text())
    if not totals:
        print("no hypothesis statistics found (run pytest with --hypothesis-show-statistics)")
        return 2
    width = max(len(name) for name in totals)
    for name, (passing, failing, invalid) in totals.items():
        print(f"{name:{width}}  {passing:>9,} passing  {failing:>3} failing  {invalid:>6,} invalid")
    passing, failing, invalid = (sum(values[i] for values in totals.values()) for i in range(3))
    print(f"{'total':{width}}  {passing:>9,} passing  {failing:>3} failing  {invalid:>6,} invalid")
    print(f"inputs tried: {passing + failing:,}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
