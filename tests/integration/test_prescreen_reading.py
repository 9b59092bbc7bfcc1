"""`cardbot prescreen --json` reads a package's document photos (unless CARDBOT_OCR=off) and flags
what was typed against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardbot.__main__ import main
from cardbot.reading.pool import shutdown
from tests.support.harness import DIALOGS
from tests.support.synthetic_documents import id_card, needs_fonts

pytest.importorskip(
    "rapidocr_onnxruntime", reason="the OCR extra is not installed: pip install -e '.[ocr]'"
)
pytestmark = needs_fonts


def package(folder: Path, full_name: str) -> Path:
    """An individual's package folder with a generated ID card (both sides)."""
    front, back = id_card("clear", seed=3)
    (folder / "documents").mkdir(parents=True)
    (folder / "documents" / "id_front.jpg").write_bytes(front.image)
    (folder / "documents" / "id_back.jpg").write_bytes(back.image)
    manifest = {
        "schema": "cardbot.package/1",
        "category": "individual",
        "fields": {
            "full_name": full_name,
            "id_type": "resident_id",
            "id_number": front.truth.id_number,
            "phone": "13800138000",
        },
        "documents": [
            {"kind": "id_front", "file": "documents/id_front.jpg"},
            {"kind": "id_back", "file": "documents/id_back.jpg"},
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    return folder


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("CARDBOT_DATABASE_URL", "CARDBOT_TOKEN", "CARDBOT_BOT_API_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CARDBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CARDBOT_DIALOGS_DIR", str(DIALOGS))
    monkeypatch.delenv("CARDBOT_OCR", raising=False)  # the default: read when installed


def prescreen(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    try:
        main(["prescreen", str(folder), "--json", "--lang", "en", "--on", "2026-01-01"])
    finally:
        shutdown()
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_prescreen_flags_a_name_that_is_not_on_the_id_card(
    environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = package(tmp_path / "package", full_name="欧阳娜娜")
    report = prescreen(folder, capsys)
    assert report["flags"] == [
        {"applications": [], "code": "name_mismatch", "document": "id_front", "field": "full_name"}
    ]


def test_prescreen_raises_no_reading_flag_on_matching_data(
    environment: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    front, _back = id_card("clear", seed=3)
    folder = package(tmp_path / "package", full_name=front.truth.name)
    assert prescreen(folder, capsys)["flags"] == []
