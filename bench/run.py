"""Run cardbot's benchmarks: `python bench/run.py [--quick]`.

Prints a table per benchmark and, as the last line, one JSON object with the headline figures.
Timings are reported, never asserted: the team decides what they mean.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import faq
import prescreen

import e2e


def main() -> None:
    """Run every benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (under a minute)")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or '?'}, "
        f"Python {platform.python_version()}"
    )
    print("\n== pre-screening one document")
    results = prescreen.run(quick=args.quick)
    print(f"{'document':<12} {'size MB':>8} {'median ms':>10} {'max ms':>8} {'peak MB':>8}")
    for name, row in results.items():
        print(
            f"{name:<12} {row['size_mb']:>8.1f} {row['ms_median']:>10.1f} "
            f"{row['ms_max']:>8.1f} {row['peak_mb']:>8.1f}"
        )
    print("\n== FAQ matching")
    faq_results = faq.run(quick=args.quick)
    print(
        f"labelled set: in-scope accuracy {faq_results['in_scope_accuracy']:.1%}, "
        f"out-of-scope refusal {faq_results['out_of_scope_refusal']:.1%}"
    )
    for entries, cost in faq_results["us_per_query"].items():
        print(f"{entries:>5} entries: {cost:7.0f} µs per question")
    print("\n== end to end: cardbot against a bare python-telegram-bot bot")
    e2e_results = e2e.run(quick=args.quick)
    for line in e2e.table(e2e_results):
        print(line)
    sqlite = e2e_results["sqlite"]
    headline = {
        "cpu_per_update_ratio": round(sqlite.ratio, 2),
        "p99_ms": round(sqlite.cardbot.percentile(0.99), 1),
        "faq_us_per_query_1000": round(faq_results["us_per_query"][1000], 1),
        "faq_in_scope_accuracy": round(faq_results["in_scope_accuracy"], 4),
        "faq_out_of_scope_refusal": round(faq_results["out_of_scope_refusal"], 4),
        "prescreen_ms_per_document": round(
            statistics.median(row["ms_median"] for row in results.values()), 2
        ),
        "prescreen_ms_worst_document": round(max(row["ms_max"] for row in results.values()), 2),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
