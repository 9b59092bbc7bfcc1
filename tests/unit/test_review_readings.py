"""What reading the documents found reaches the reviewers' card once per round, and never the
applicant (issue 20: the core side; tests/integration/test_reading_review.py reads for real)."""

from __future__ import annotations

from pathlib import Path

from cardbot.core.model import Flag
from cardbot.core.review.readings import ReadingRequest
from tests.support import files
from tests.unit.test_review import APPLICANT, GROUP, as_reviewer, desk, tap

NAME_READ_WRONG = Flag("name_mismatch", (), field="full_name", document="id_front")
EXPIRED = Flag("id_expired", (), document="id_back")


def waiting(chat: object) -> list[ReadingRequest]:
    return chat.service.review.waiting_to_be_read(10)  # type: ignore[attr-defined, no-any-return]


def test_a_submitted_package_is_read_once_and_its_flags_edit_the_card(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    (request,) = waiting(chat)
    assert request.round == 1 and request.submitted_on == "2026-11-30"
    assert request.answers["full_name"] == "张三"
    assert set(request.documents) == {"id_front", "id_back"}
    (card,) = chat.service.review.note_readings(request, [NAME_READ_WRONG, EXPIRED])
    shown = chat.renderer.render(card)
    assert card.chat_id == GROUP and card.edit and card.tag == "card:1"
    assert "身份证人像面（正面） · 证件上读到的姓名与填写的不一致\n" in shown.text
    assert shown.text.endswith("• 身份证国徽面（背面） · 身份证的有效期在提交日之前已结束")
    assert "张三" not in shown.text  # the card stays masked
    assert waiting(chat) == []
    assert chat.service.review.note_readings(request, [NAME_READ_WRONG]) == []  # read already
    assert chat.db.audit[-1].event == "documents_read"
    assert chat.db.audit[-1].data == {"flags": ["id_expired", "name_mismatch"]}


def test_the_flags_are_for_reviewers_only(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    (request,) = waiting(chat)
    chat.service.review.note_readings(request, [NAME_READ_WRONG])
    chat.as_user(APPLICANT)
    (status,) = chat.command("status")
    assert "姓名" not in status.text and "不一致" not in status.text
    (held,) = chat.command("mydata")[:1]
    assert "不一致" not in held.text


def test_nothing_found_leaves_the_card_alone_and_the_round_read(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    (request,) = waiting(chat)
    assert chat.service.review.note_readings(request, []) == []
    assert waiting(chat) == []


def test_a_resubmission_is_read_again_and_a_reading_of_the_old_round_is_dropped(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    (first,) = waiting(chat)
    chat.service.review.note_readings(first, [NAME_READ_WRONG])
    as_reviewer(chat)
    for op in ("resubmit", "i:id_card", "s:unreadable"):
        tap(chat, op)
    assert waiting(chat) == []  # with the applicant, not the reviewers
    chat.as_user(APPLICANT)
    chat.upload(files.photo(seed=11), group="again")
    chat.upload(files.photo(seed=12), group="again")
    new_card = [m for m in chat.press("nav:submit") if m.chat_id == GROUP][-1]
    assert "不一致" not in new_card.text  # the new photos have not been read yet
    (second,) = waiting(chat)
    assert second.round == 2
    assert chat.service.review.note_readings(first, [EXPIRED]) == []  # the old round's
    (card,) = chat.service.review.note_readings(second, [EXPIRED])
    assert "有效期" in chat.renderer.render(card).text


def test_a_decided_application_is_not_read(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    (request,) = waiting(chat)
    as_reviewer(chat)
    tap(chat, "approve")
    tap(chat, "approve_ok")
    assert waiting(chat) == []
    assert chat.service.review.note_readings(request, [NAME_READ_WRONG]) == []
