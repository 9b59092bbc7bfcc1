"""How well documents are read: field accuracy by condition, the cross-check's flags (precision
and recall against matching and deliberately mismatching answers), CPU time and memory per
document, and what reading adds to the bot process.

    .venv/bin/python bench/reading.py [--per-condition N]

Documents are drawn by tests/support/synthetic_documents.py (fixed seeds). Each is read with
the code a reading worker runs (cardbot.reading.engine.read_image), in this process, so its
CPU time and peak memory are the worker's.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image
from tests.support.synthetic_documents import CONDITIONS, Sample, Truth, synthetic_set

from cardbot.reading.crosscheck import crosscheck
from cardbot.reading.engine import read_image
from cardbot.reading.model import Reading

SUBMITTED = date(2030, 6, 1)  # some cards and passports have expired by then
FIELDS = {
    "id_front": (("id_number", "id_number"), ("name", "name")),
    "id_back": (("valid_until", "valid_until"), ("authority", "authority")),
    "passport": (
        ("passport_number", "passport_number"),
        ("passport_expiry", "passport_expiry"),
        ("passport_name", "passport_name"),
    ),
    "business_license": (
        ("uscc", "uscc"),
        ("uscc_from_qr", "uscc"),
        ("company_name", "company_name"),
    ),
}
KEY_FIELDS = {"id_number", "uscc", "passport_number", "valid_until"}


def answers_for(truth: Truth, matching: bool) -> dict[str, str]:
    """What an applicant typed: the document's own data, or other data of the same shape."""
    if truth.kind == "passport":
        answers = {"full_name": truth.passport_name, "id_number": truth.passport_number}
    else:
        answers = {"full_name": truth.name, "id_number": truth.id_number}
    answers |= {"company_name": truth.company_name, "uscc": truth.uscc}
    if matching:
        return answers
    return {
        "full_name": "欧阳娜娜" if truth.kind != "passport" else "OUYANG NANA",
        "id_number": "110101199003078035" if truth.kind != "passport" else "E00000000",
        "company_name": "重庆某某电话营销有限公司",
        "uscc": "91350100M000100Y43",
    }


def expected_flags(truth: Truth, matching: bool, condition: str) -> set[str]:
    """The flags a perfect reader raises for this document and these answers."""
    if condition == "blurry":
        return {"image_blurry"}
    flags = set()
    if truth.kind == "id_back" and not truth.permanent and truth.valid_until < SUBMITTED:  # type: ignore[operator]
        flags.add("id_expired")
    if truth.kind == "passport" and truth.passport_expiry < SUBMITTED:  # type: ignore[operator]
        flags.add("passport_expired")
    if not matching:
        flags |= {
            "id_front": {"name_mismatch", "id_number_mismatch"},
            "id_back": set(),
            "passport": {"name_mismatch", "id_number_mismatch"},
            "business_license": {"uscc_mismatch", "company_name_mismatch"},
        }[truth.kind]
    return flags


def main() -> None:
    """Read the synthetic set and print the tables, then one JSON line of headline figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-condition", type=int, default=2)
    args = parser.parse_args()
    samples = synthetic_set(args.per_condition)
    print(f"{len(samples)} documents, {len(CONDITIONS)} conditions")
    read_image("id_back", samples[1].image)  # load the model once, as a worker does
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hits: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    cpu: dict[str, list[float]] = defaultdict(list)
    flag_counts: dict[str, Counter[str]] = defaultdict(Counter)
    false_mismatch_on_clear = 0
    blur_values: dict[str, list[float]] = defaultdict(list)
    readings: list[tuple[Sample, Reading]] = []
    for sample in samples:
        started = time.process_time()
        reading = read_image(sample.truth.kind, sample.image)
        cpu[sample.truth.kind].append(time.process_time() - started)
        readings.append((sample, reading))
        group = "clear" if sample.condition in ("clear", "small", "jpeg_low") else sample.condition
        blur_values[sample.condition].append(reading.blur or 0.0)
        for read_field, true_field in FIELDS[sample.truth.kind]:
            if sample.truth.kind == "id_back" and read_field == "valid_until":
                ok = (reading.valid_until == sample.truth.valid_until) and (
                    reading.permanent == sample.truth.permanent
                )
            else:
                ok = getattr(reading, read_field) == getattr(sample.truth, true_field)
            hits[(read_field, group)]["ok" if ok else "miss"] += 1
            hits[(read_field, "all")]["ok" if ok else "miss"] += 1
            if read_field in KEY_FIELDS:
                hits[("key field", group)]["ok" if ok else "miss"] += 1
        for matching in (True, False):
            raised = {
                f.code
                for f in crosscheck(answers_for(sample.truth, matching), [reading], SUBMITTED)
            }
            expected = expected_flags(sample.truth, matching, sample.condition)
            for code in raised | expected:
                outcome = (
                    "tp"
                    if code in raised and code in expected
                    else "fp"
                    if code in raised
                    else "fn"
                )
                flag_counts[code][outcome] += 1
            if (
                matching
                and sample.condition == "clear"
                and any(c.endswith("_mismatch") for c in raised)
            ):
                false_mismatch_on_clear += 1
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    side = side_wrong_check(readings)

    print("\nField accuracy (read exactly; key field = ID number, credit code, passport number,")
    print("ID validity) by condition; 'clear' includes small and low-quality JPEG")
    groups = ["clear", "skew", "rot90", "rot180", "dim", "blur", "blurry", "all"]
    print(f"| field | {' | '.join(groups)} |")
    print(f"| --- |{' ---: |' * len(groups)}")
    names = sorted({name for name, _ in hits}, key=lambda n: (n != "key field", n))
    for name in names:
        cells = []
        for group in groups:
            c = hits.get((name, group))
            cells.append(f"{c['ok']}/{c['ok'] + c['miss']}" if c else "–")
        print(f"| {name} | {' | '.join(cells)} |")

    print("\nFlags against matching and mismatching answers (submitted on", SUBMITTED, ")")
    print("| flag | raised right | raised wrongly | missed | precision | recall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for code, c in sorted(flag_counts.items()):
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        print(f"| {code} | {c['tp']} | {c['fp']} | {c['fn']} | {precision:.2f} | {recall:.2f} |")
    print(f"\nfalse *_mismatch flags on clear photos of matching data: {false_mismatch_on_clear}")
    print(
        f"document_side_wrong on an ID back, a passport or a licence given as an ID front: {side}"
    )

    print("\nCPU seconds per document (one worker thread)")
    print("| document | median | max |")
    print("| --- | ---: | ---: |")
    all_cpu = []
    for kind, values in cpu.items():
        values.sort()
        all_cpu += values
        print(f"| {kind} | {values[len(values) // 2]:.2f} | {values[-1]:.2f} |")
    all_cpu.sort()
    print(f"| all | {all_cpu[len(all_cpu) // 2]:.2f} | {all_cpu[-1]:.2f} |")
    print(f"mean {sum(all_cpu) / len(all_cpu):.2f} s")
    print(
        f"\nblur measure by condition: {dict((k, round(min(v))) for k, v in blur_values.items())}"
    )
    bot = bot_memory()
    print(f"\nworker peak RSS: {base_rss:.0f} MiB, model loaded; {peak_rss:.0f} MiB at the end")
    print(f"bot process RSS (MiB): {bot}")
    key_clear = hits[("key field", "clear")]
    hard = Counter[str]()
    for group in ("skew", "rot90", "rot180", "dim", "blur"):
        hard.update(hits[("key field", group)])
    print(
        json.dumps(
            {
                "documents": len(samples),
                "key_field_clear": round(key_clear["ok"] / sum(key_clear.values()), 3),
                "key_field_rotated_dim": round(hard["ok"] / sum(hard.values()), 3),
                "false_mismatch_clear": false_mismatch_on_clear,
                "cpu_median_s": round(all_cpu[len(all_cpu) // 2], 2),
                "cpu_mean_s": round(sum(all_cpu) / len(all_cpu), 2),
                "worker_peak_rss_mib": round(peak_rss),
                "bot_rss_mib": bot,
            }
        )
    )


def side_wrong_check(readings: list[tuple[Sample, Reading]]) -> str:
    """How many clear photos of another document, handed in as an ID front, are flagged."""
    from cardbot.reading.parse import parse

    flagged = total = 0
    for sample, reading in readings:
        if sample.condition != "clear" or sample.truth.kind == "id_front":
            continue
        lines = _lines(sample)
        total += 1
        flagged += parse("id_front", lines).side_wrong
        del reading
    return f"{flagged}/{total}"


def _lines(sample: Sample) -> list[object]:
    from cardbot.reading.engine import ocr_lines

    return ocr_lines(Image.open(io.BytesIO(sample.image)).convert("RGB"))  # type: ignore[return-value]


def bot_memory() -> dict[str, float]:
    """Peak RSS of a process that loads the bot's modules, without and with reading's."""
    bot = "import cardbot.runtime, cardbot.telegram.bot"
    reading = "import cardbot.reading.pool, cardbot.reading.crosscheck"
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through exec.
    probe = (
        "import re; print(int(re.search(r'VmHWM:\\s+(\\d+)', "
        "open('/proc/self/status').read())[1]) / 1024)"
    )
    out = {}
    for label, code in (("before", bot), ("reading_off", f"{bot}; {reading}")):
        try:
            result = subprocess.run(
                [sys.executable, "-c", f"{code}; {probe}"],
                capture_output=True,
                text=True,
                check=True,
            )
            out[label] = round(float(result.stdout.strip()), 1)
        except (subprocess.CalledProcessError, ValueError):
            out[label] = -1.0
    return out


if __name__ == "__main__":
    main()
