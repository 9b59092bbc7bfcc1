"""Earlier applications of the same person or picture, whatever their status, on SQLite and
PostgreSQL: the perceptual hash is stored with each photo and compared at submission."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from cardbot.core.image_hash import SIMILAR_IMAGE_DISTANCE
from cardbot.core.model import Status
from cardbot.db.migrate import upgrade
from tests.integration.test_repository import sql_units
from tests.support import files
from tests.support.fakes import FixedClock
from tests.support.harness import VALID_ID, Harness

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def half_size(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    image.resize((image.width // 2, image.height // 2)).save(out, "JPEG", quality=70)
    return out.getvalue()


def test_a_decided_application_with_the_same_id_and_picture_is_flagged_with_its_outcome(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    chat = Harness(tmp_path, unit_of_work=units, now=NOW)
    chat.complete_individual((1, 2))
    chat.press("nav:submit")
    with units() as uow:
        applicant = uow.load_applicant(chat.user.user_id)
        assert applicant is not None and applicant.application is not None
        stored = applicant.application.documents
        assert {kind: len(doc.phash or "") for kind, doc in stored.items()} == {
            "id_front": 16,
            "id_back": 16,
        }
        applicant.application.status = Status.REJECTED
        uow.save_applicant(applicant)
        uow.commit()
    chat.user = chat.user.__class__(2, 2, "zh")
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(half_size(files.photo(seed=1)), group="album")
    chat.upload(files.photo(seed=7), group="album")
    chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.number == "DX-2026-000002"
    assert [(f.code, f.applications, f.outcomes, f.document) for f in app.flags] == [
        ("id_number_in_use", ("DX-2026-000001",), ("rejected",), None),
        ("similar_photo", ("DX-2026-000001",), ("rejected",), "id_front"),
    ]
    with units() as uow:
        assert uow.applications_with_answer("id_number", VALID_ID) == [
            ("DX-2026-000001", "rejected"),
            ("DX-2026-000002", "submitted"),
        ]
        phash = stored["id_front"].phash
        assert phash is not None
        assert uow.applications_with_similar_photo(
            phash, SIMILAR_IMAGE_DISTANCE, exclude_number="DX-2026-000001"
        ) == [("DX-2026-000002", "submitted")]
        assert uow.applications_with_similar_photo(
            phash, 0, exclude_number="DX-2026-000002", limit=1
        ) == [("DX-2026-000001", "rejected")]
    engine.dispose()
