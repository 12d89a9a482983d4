"""Time of flat overlap resolution (`decoding.keep_non_overlapping`) on random entities.

Two layouts: `random`, spans over a text of 10 × as many characters as there are entities (widths 1 to 10, random
scores), the shape of a long document's candidates, about two thirds of them kept; `disjoint`, entities side by side
(random scores), all kept, as in a long document's flat output (the quadratic rule's worst case). Each size is timed
as the best of three calls. The quadratic rule it replaced (each candidate checked against every kept entity;
`tests/test_decoding.py` keeps it as the specification) is timed beside it up to 5,000 entities, and both must keep
the same entities.

    python benchmarks/overlaps.py [--sizes 5000 50000 500000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import command, machine, today, write_section  # noqa: E402
from test_decoding import quadratic_keep_non_overlapping  # noqa: E402  (the specification the tests keep)

QUADRATIC_UP_TO = 5000


def best_of_three(function, *arguments) -> tuple[float, list]:
    times, result = [], None
    for _ in range(3):
        began = time.perf_counter()
        result = function(*arguments)
        times.append(time.perf_counter() - began)
    return min(times), result


def main() -> None:
    from multiner.decoding import keep_non_overlapping

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000, 500000])
    args = parser.parse_args()
    generator = random.Random(0)
    rows = []
    for layout, size in [(layout, size) for layout in ("random", "disjoint") for size in args.sizes]:
        entities = []
        for index in range(size):
            start = generator.randrange(10 * size) if layout == "random" else 10 * index
            entities.append({"start": start, "end": start + generator.randint(1, 10), "score": generator.random()})
        arguments = (entities, lambda e: (e["start"], e["end"]), lambda e: e["score"])
        seconds, kept = best_of_three(keep_non_overlapping, *arguments)
        quadratic = "—"
        if size <= QUADRATIC_UP_TO:
            quadratic_seconds, quadratic_kept = best_of_three(quadratic_keep_non_overlapping, *arguments)
            assert quadratic_kept == kept, "the two rules kept different entities"
            quadratic = f"{quadratic_seconds:.3f}"
        rows.append(f"| {layout} | {size:,} | {len(kept):,} | {seconds:.3f} | {quadratic} |")
        print(rows[-1], flush=True)
    write_section(
        "overlaps",
        "\n".join(
            [
                "## Flat overlap resolution (issue: hostile input, nothing quadratic)",
                "",
                "`decoding.keep_non_overlapping` (what `flat=True`, the evaluation's flat scoring and the joint "
                "family's window merge call) on random entities, best of three calls, seconds. `random`: spans of "
                "1-10 characters over a text ten times as long as the number of entities, random scores; `disjoint`: "
                "entities side by side, all kept (a long document's flat output).",
                "",
                "| layout | entities | kept | binary-search rule (s) | quadratic rule it replaced (s) |",
                "|---|---|---|---|---|",
                *rows,
                "",
                f"Measured {today()} on {machine()}: `{command()}`. The quadratic rule is timed up to "
                f"{QUADRATIC_UP_TO:,} entities only, and kept the same entities there. Each item costs two binary "
                "searches among the kept bounds (held sorted in blocks of at most 512) and, when kept, one insert "
                "into a block.",
            ]
        ),
    )


if __name__ == "__main__":
    main()
