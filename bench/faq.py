"""FAQ matching: accuracy on the labelled set, out-of-scope refusals, cost per query."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.core.faq import FaqEntry, FaqMatcher

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "bench" / "faq_labelled.yaml"


def labelled_set(path: Path = LABELLED) -> dict[str, list[dict[str, Any]]]:
    """The labelled questions: in_scope (with the expected id) and out_of_scope."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {"in_scope": data["in_scope"], "out_of_scope": data["out_of_scope"]}


def evaluate(matcher: FaqMatcher, labelled: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Accuracy on in-scope questions, refusal rate on out-of-scope ones, and the misses."""
    misses = []
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for item in labelled["in_scope"]:
        got = matcher.match(item["q"]).entry_id
        total[item["lang"]] += 1
        if got == item["id"]:
            right[item["lang"]] += 1
        else:
            misses.append((item["lang"], item["id"], got, item["q"]))
    refused: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    for item in labelled["out_of_scope"]:
        got = matcher.match(item["q"]).entry_id
        asked[item["lang"]] += 1
        if got is None:
            refused[item["lang"]] += 1
        else:
            misses.append((item["lang"], None, got, item["q"]))
    return {
        "in_scope_accuracy": sum(right.values()) / max(sum(total.values()), 1),
        "out_of_scope_refusal": sum(refused.values()) / max(sum(asked.values()), 1),
        "by_language": {
            lang: {
                "in_scope_accuracy": right[lang] / max(total[lang], 1),
                "out_of_scope_refusal": refused[lang] / max(asked[lang], 1),
            }
            for lang in sorted(total | asked)
        },
        "misses": misses,
    }


def synthetic_entries(base: list[FaqEntry], count: int) -> list[FaqEntry]:
    """`count` entries: the real ones, then variants of them with different ids and words."""
    entries = list(base[:count])
    serial = 0
    while len(entries) < count:
        source = base[serial % len(base)]
        serial += 1
        suffix = f" {serial}号 topic{serial}"
        entries.append(
            FaqEntry(
                id=f"{source.id}-{serial}",
                questions={k: tuple(q + suffix for q in v) for k, v in source.questions.items()},
                answers=source.answers,
            )
        )
    return entries


def cost_per_query(
    entries: list[FaqEntry], negatives: list[str], questions: list[str], repeats: int
) -> float:
    """Microseconds to match one question with these entries loaded."""
    matcher = FaqMatcher(entries, negatives=negatives)
    for question in questions:
        matcher.match(question)  # warm caches, as a running bot has
    start = time.perf_counter()
    for _ in range(repeats):
        for question in questions:
            matcher.match(question)
    return (time.perf_counter() - start) / (repeats * len(questions)) * 1e6


def run(quick: bool = False) -> dict[str, Any]:
    """Accuracy on the labelled set and the cost per query with 10, 100 and 1,000 entries."""
    entries = load_faq(ROOT / "faq")
    negatives = load_negatives(ROOT / "faq")
    labelled = labelled_set()
    result = evaluate(FaqMatcher(entries, negatives=negatives), labelled)
    questions = [item["q"] for item in labelled["in_scope"] + labelled["out_of_scope"]]
    result["us_per_query"] = {
        n: cost_per_query(synthetic_entries(entries, n), negatives, questions, 1 if quick else 3)
        for n in (10, 100, 1000)
    }
    return result


def main() -> None:
    """Print the figures and every miss."""
    result = run()
    for lang, miss_id, got, question in result["misses"]:
        print(f"  miss [{lang}] expected {miss_id} got {got}: {question}")
    print(
        f"in-scope accuracy {result['in_scope_accuracy']:.1%}, "
        f"out-of-scope refusal {result['out_of_scope_refusal']:.1%}"
    )
    for lang, figures in result["by_language"].items():
        print(
            f"  {lang}: {figures['in_scope_accuracy']:.1%} / {figures['out_of_scope_refusal']:.1%}"
        )
    for n, cost in result["us_per_query"].items():
        print(f"  {n} entries: {cost:.0f} µs per question")


if __name__ == "__main__":
    main()
