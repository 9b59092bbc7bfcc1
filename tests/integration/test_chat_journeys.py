"""Whole applications in `cardbot chat`, in both languages, and not one line that reads wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import run_cardbot
from tests.support import files, synthetic_documents
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC
from tests.support.transcript import shown_problems


def screen(output: str) -> list[str]:
    """What a reader of the terminal would notice, message by message (blank-line separated);
    button lines (`  [#1] …`) are left out, as in a Telegram message they are no text."""
    messages = output.split("\n\n")[1:]  # the first block is the chat's own banner
    found = []
    for message in messages:
        text = "\n".join(line for line in message.split("\n") if not line.startswith("  [#"))
        if text.strip():
            found += [f"{problem}\n{text}" for problem in shown_problems(text, [])]
    return found


@pytest.mark.parametrize(
    ("lang", "category", "company"),
    [("zh", "#1", "北京某某科技有限公司"), ("en", "#1", "Acme & Co., Ltd.")],
)
def test_an_enterprise_application_in_the_terminal_reads_right(
    tmp_path: Path, lang: str, category: str, company: str
) -> None:
    front, back, licence, tax = (tmp_path / n for n in ("f.jpg", "b.jpg", "l.pdf", "t.png"))
    front.write_bytes(files.photo(seed=1))
    back.write_bytes(files.photo(seed=2))
    licence.write_bytes(files.pdf())
    tax.write_bytes(files.photo(seed=3, fmt="PNG"))
    lines = [
        "/start",
        "#1",  # consent
        category,
        "张三",
        "#1",  # resident ID card
        VALID_ID,
        VALID_PHONE,
        company,
        VALID_USCC,
        "300",
        f"{front} {back}",  # both sides as one album
        str(tmp_path / "missing.jpg"),
        str(licence),
        str(tax),
        "/status",
        "#1",  # submit
        "/status",
        "/help",
    ]
    result = run_cardbot(["chat", "--lang", lang], tmp_path, "\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert "DX-" in result.stdout
    assert f"file not found: {tmp_path / 'missing.jpg'}" in result.stdout
    assert screen(result.stdout) == []


@synthetic_documents.needs_fonts
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_terminal_reads_the_id_card_and_one_button_confirms_and_submits(
    tmp_path: Path, lang: str
) -> None:
    pytest.importorskip("rapidocr_onnxruntime", reason="the OCR extra is not installed")
    front_sample, back_sample = synthetic_documents.id_card("clear", seed=5)
    front, back = tmp_path / "front.jpg", tmp_path / "back.jpg"
    front.write_bytes(front_sample.image)
    back.write_bytes(back_sample.image)
    lines = ["/start", "#1", "#3", VALID_PHONE, f"{front} {back}", "#1", "/status"]
    result = run_cardbot(
        ["chat", "--lang", lang], tmp_path, "\n".join(lines) + "\n", CARDBOT_OCR="on"
    )
    assert result.returncode == 0, result.stderr
    name = front_sample.truth.name
    read = "读到" if lang == "zh" else "Read from your"
    assert read in result.stdout and name in result.stdout
    assert "DX-" in result.stdout  # the tap on the proposal submitted it
    assert screen(result.stdout) == []
