"""Package folders: `cardbot export` writes one, `cardbot prescreen` checks one."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cardbot.__main__ import main
from cardbot.config import load_settings
from cardbot.core.ports import UnitOfWork
from cardbot.db.migrate import upgrade
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.runtime import open_document_store
from tests.support import files
from tests.support.fakes import FixedClock
from tests.support.harness import DIALOGS, VALID_USCC, Harness

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
TURNS_18_TOMORROW = "11010520081201001X"  # born 2008-12-01


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with one submitted enterprise application, DX-2026-000001."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'cardbot.db'}"
    for key in ("CARDBOT_DATABASE_URL", "CARDBOT_TOKEN", "CARDBOT_BOT_API_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CARDBOT_DATA_DIR", str(data))
    monkeypatch.setenv("CARDBOT_DIALOGS_DIR", str(DIALOGS))
    # These packages hold drawn lines, not documents; reading them is test_prescreen_reading's.
    monkeypatch.setenv("CARDBOT_OCR", "off")
    data.mkdir()
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    clock = FixedClock(NOW)

    def units() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    store = open_document_store(load_settings())
    chat = Harness(tmp_path, unit_of_work=units, documents=store, now=clock.current)
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("Acme & Co's (Trading)")
    chat.text(VALID_USCC)
    chat.text("300")
    chat.upload(files.photo(seed=1), group="a")
    chat.upload(files.photo(seed=2), group="a")
    chat.upload(files.pdf())
    chat.upload(files.photo(seed=3, fmt="PNG"))
    chat.press("nav:submit")
    engine.dispose()
    return data


def prescreen(
    folder: Path, capsys: pytest.CaptureFixture[str], on: date = TODAY
) -> tuple[int, dict[str, Any]]:
    code = main(["prescreen", str(folder), "--json", "--lang", "en", "--on", on.isoformat()])
    out = capsys.readouterr().out
    return code, json.loads(out)


def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "package"
    assert main(["export", "DX-2026-000001", str(folder)]) == 0
    capsys.readouterr()
    return folder


def edit_manifest(folder: Path, change: Any) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_export_writes_manifest_and_files(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"] == "cardbot.package/1"
    assert manifest["application_number"] == "DX-2026-000001"
    assert manifest["category"] == "enterprise"
    assert manifest["fields"]["company_name"] == "Acme & Co's (Trading)"
    assert manifest["fields"]["id_type"] == "resident_id"
    kinds = {d["kind"]: d["file"] for d in manifest["documents"]}
    assert kinds == {
        "business_license": "documents/business_license.pdf",
        "id_back": "documents/id_back.jpg",
        "id_front": "documents/id_front.jpg",
        "tax_registration": "documents/tax_registration.png",
    }
    assert (folder / kinds["business_license"]).read_bytes() == files.pdf()


def test_exported_package_prescreens_complete_without_flagging_itself(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    assert prescreen(folder, capsys) == (0, {"complete": True, "problems": [], "flags": []})


def test_export_of_an_unknown_number_fails_clearly(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "DX-2026-999999", str(tmp_path / "x")]) == 1
    assert "DX-2026-999999" in capsys.readouterr().err


def test_export_refuses_to_overwrite(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    assert main(["export", "DX-2026-000001", str(folder)]) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda m: m["fields"].update(id_number="110105194912310021"),
            [{"code": "invalid_id_number", "field": "id_number"}],
        ),
        (
            lambda m: m["fields"].pop("phone"),
            [{"code": "missing_field", "field": "phone"}],
        ),
        (
            lambda m: m["fields"].update(uscc="N2350100MA32MBW05C"),
            [],
        ),
        (
            lambda m: m["fields"].update(uscc="N2350100MA32MBW05D"),
            [{"code": "invalid_uscc", "field": "uscc"}],
        ),
        (
            lambda m: m["fields"].update(id_number=TURNS_18_TOMORROW),
            [{"code": "underage", "field": "id_number"}],
        ),
        (
            lambda m: m["documents"].pop(0),
            [{"code": "missing_document", "document": "business_license"}],
        ),
        (
            lambda m: m["documents"][0].update(file="../../../etc/passwd"),
            [{"code": "missing_document", "document": "business_license"}],
        ),
        (
            lambda m: m["documents"][0].update(file="documents/nowhere.pdf"),
            [{"code": "missing_document", "document": "business_license"}],
        ),
        (
            lambda m: m["documents"][0].update(file="x" * 5000),
            [{"code": "missing_document", "document": "business_license"}],
        ),
        (
            lambda m: m["documents"][0].update(file="documents/a\u0000b.pdf"),
            [{"code": "missing_document", "document": "business_license"}],
        ),
        (
            lambda m: m["fields"].update(full_name=True),
            [{"code": "missing_field", "field": "full_name"}],
        ),
        (
            lambda m: m["documents"][3].update(file=m["documents"][2]["file"], sha256=None),
            [{"code": "duplicate_document", "document": "tax_registration"}],
        ),
        (
            lambda m: m["fields"].update(id_type="passport"),
            [
                {"code": "invalid_passport_number", "field": "id_number"},
                {"code": "missing_document", "document": "passport"},
            ],
        ),
    ],
)
def test_prescreen_reports_each_problem_with_its_code(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Any,
    expected: list[dict[str, str]],
) -> None:
    folder = exported(tmp_path, capsys)
    edit_manifest(folder, change)
    code, report = prescreen(folder, capsys)
    found = [{k: v for k, v in p.items() if k != "message"} for p in report["problems"]]
    assert found == expected
    assert report["complete"] is (not expected)
    assert code == (1 if expected else 0)
    assert all(p["message"] for p in report["problems"])


def test_prescreen_judges_age_on_the_day_it_is_asked_for(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    edit_manifest(folder, lambda m: m["fields"].update(id_number=TURNS_18_TOMORROW))
    code, report = prescreen(folder, capsys, on=TODAY)
    assert (code, [p["code"] for p in report["problems"]]) == (1, ["underage"])
    assert prescreen(folder, capsys, on=TODAY + timedelta(days=1))[0] == 0


def test_prescreen_refuses_a_day_that_is_not_a_date(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    with pytest.raises(SystemExit) as exit_info:
        main(["prescreen", str(folder), "--on", "tomorrow"])
    assert exit_info.value.code == 2
    assert "--on: invalid fromisoformat value: 'tomorrow'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "data", "code"),
    [
        ("business_license", files.encrypted_pdf(), "pdf_encrypted"),
        ("business_license", files.zip_archive(), "unsupported_file_type"),
        ("business_license", b"", "file_empty"),
        ("id_front", files.truncated_photo(), "image_unreadable"),
        ("id_front", files.decompression_bomb(), "image_unreadable"),
        ("id_front", files.blank_photo(), "image_blank"),
        ("id_front", files.tiny_photo(), "image_too_small"),
        ("id_front", files.windows_executable(), "unsupported_file_type"),
    ],
)
def test_prescreen_judges_files_by_content(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    data: bytes,
    code: str,
) -> None:
    folder = exported(tmp_path, capsys)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = next(d for d in manifest["documents"] if d["kind"] == kind)
    (folder / entry["file"]).write_bytes(data)
    edit_manifest(folder, lambda m: [d.update(sha256=None) for d in m["documents"]])
    status, report = prescreen(folder, capsys)
    assert status == 1
    assert [(p["code"], p.get("document")) for p in report["problems"]] == [(code, kind)]


def test_a_changed_file_does_not_match_its_checksum(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    (folder / "documents" / "business_license.pdf").write_bytes(files.pdf(2))
    _status, report = prescreen(folder, capsys)
    assert [p["code"] for p in report["problems"]] == ["checksum_mismatch"]


def test_another_package_with_the_same_id_and_documents_is_flagged(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    edit_manifest(folder, lambda m: m.update(application_number=None))
    status, report = prescreen(folder, capsys)
    assert status == 0
    codes = [(f["code"], f["applications"]) for f in report["flags"]]
    assert ("id_number_in_use", ["DX-2026-000001"]) in codes
    assert ("document_in_use", ["DX-2026-000001"]) in codes


@pytest.mark.parametrize(
    "breakage",
    [
        lambda folder: (folder / "manifest.json").unlink(),
        lambda folder: (folder / "manifest.json").write_text("{not json", encoding="utf-8"),
        lambda folder: (folder / "manifest.json").write_text('{"schema": "x"}', encoding="utf-8"),
        lambda folder: edit_manifest(folder, lambda m: m.update(category="alien")),
        lambda folder: shutil.rmtree(folder),
        lambda folder: edit_manifest(folder, lambda m: m.update(category=["individual"])),
        lambda folder: (folder / "manifest.json").write_text("[" * 100000 + "]" * 100000),
        lambda folder: edit_manifest(folder, lambda m: m.update(fields=[1, 2])),
    ],
)
def test_an_unreadable_folder_exits_2(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], breakage: Any
) -> None:
    folder = exported(tmp_path, capsys)
    breakage(folder)
    assert main(["prescreen", str(folder), "--json"]) == 2
    assert "error" in json.loads(capsys.readouterr().out)


def test_prescreen_without_json_prints_readable_lines(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = exported(tmp_path, capsys)
    edit_manifest(folder, lambda m: m["fields"].pop("phone"))
    assert main(["prescreen", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "[missing_field] 联系电话：" in out or "[missing_field] 联系电话:" in out
