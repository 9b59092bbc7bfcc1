"""FAQ matching: accuracy and refusals on the tuning and evaluation sets, per language; the cost
per question with 1,000 entries; the memory the matcher adds to the bot.

Sets (see each file's header): faq_labelled.yaml and faq_dev.yaml were tuned on;
faq_heldout_1.yaml was held out for its first run, then tuned on; faq_heldout.yaml is held
out. Nothing is trained (the scope cues in core/faq_scope.py are written by hand), so there
are no cross-validated figures to report.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.core.faq import FaqEntry, FaqMatcher

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "bench" / "faq_labelled.yaml"
SETS = {
    "tuning": ROOT / "bench" / "faq_labelled.yaml",
    "development": ROOT / "bench" / "faq_dev.yaml",
    "held-out 1 (since tuned on)": ROOT / "bench" / "faq_heldout_1.yaml",
    "held-out": ROOT / "bench" / "faq_heldout.yaml",
}
HELD_OUT = SETS["held-out"]
MEMORY_BUDGET_MB = 50  # what the matcher may add to the bot for 1,000 entries (issue 17)


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


_MEMORY_PROBE = """
import gc, sys
from pathlib import Path
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096
sys.path.insert(0, {bench!r})
import yaml, faq as bench
from cardbot.content.faq_files import load_faq, load_negatives
entries = load_faq(Path({faq!r})); negatives = load_negatives(Path({faq!r}))
many = bench.synthetic_entries(entries, 1000)
questions = [i["q"] for i in bench.labelled_set()["in_scope"]]
gc.collect(); before = rss()
from cardbot.core.faq import FaqMatcher
matcher = FaqMatcher(many, negatives=negatives)
for q in questions: matcher.match(q)
gc.collect(); print(rss() - before)
"""


def memory_added() -> int:
    """Bytes of resident memory that importing the matcher and building it over 1,000 entries
    (then matching) adds to a process that has already loaded the entries."""
    probe = _MEMORY_PROBE.format(bench=str(ROOT / "bench"), faq=str(ROOT / "faq"))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> dict[str, Any]:
    """Figures for every set, the cost per question with 10, 100 and 1,000 entries, memory."""
    entries = load_faq(ROOT / "faq")
    negatives = load_negatives(ROOT / "faq")
    matcher = FaqMatcher(entries, negatives=negatives)
    result: dict[str, Any] = {"sets": {}}
    questions: list[str] = []
    for name, path in SETS.items():
        labelled = labelled_set(path)
        result["sets"][name] = evaluate(matcher, labelled)
        questions += [item["q"] for item in labelled["in_scope"] + labelled["out_of_scope"]]
    result["us_per_query"] = {
        n: cost_per_query(synthetic_entries(entries, n), negatives, questions, 1 if quick else 3)
        for n in (10, 100, 1000)
    }
    result["memory_bytes"] = memory_added()
    return result


def main() -> None:
    """Print the figures and every miss."""
    result = run()
    for name, figures in result["sets"].items():
        print(f"{name}:")
        for lang, miss_id, got, question in figures["misses"]:
            print(f"  miss [{lang}] expected {miss_id} got {got}: {question}")
        print(
            f"  in-scope right {figures['in_scope_accuracy']:.1%}, "
            f"off-topic refused {figures['out_of_scope_refusal']:.1%}"
        )
        for lang, by_lang in figures["by_language"].items():
            print(
                f"    {lang}: in-scope right {by_lang['in_scope_accuracy']:.1%}, "
                f"refused {by_lang['out_of_scope_refusal']:.1%}"
            )
    for n, cost in result["us_per_query"].items():
        print(f"  {n} entries: {cost:.0f} µs per question")
    megabytes = result["memory_bytes"] / 2**20
    verdict = "ok" if megabytes <= MEMORY_BUDGET_MB else "OVER"
    print(
        f"  memory added by the matcher (1,000 entries): {megabytes:.1f} MB "
        f"({verdict}, budget {MEMORY_BUDGET_MB} MB)"
    )


if __name__ == "__main__":
    main()
