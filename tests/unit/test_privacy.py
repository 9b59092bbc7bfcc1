"""Applicants' rights over their data (/mydata, /delete), retention, and audited ID reveals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cardbot.core.model import Status
from tests.support.harness import VALID_ID, VALID_PHONE, Harness
from tests.unit.test_review import APPLICANT, GROUP, STRANGER, as_reviewer, desk, tap, to, toasts


def approved(tmp_path: Path) -> Harness:
    """An application approved by a reviewer; the applicant is talking again."""
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "claim")
    tap(chat, "approve")
    tap(chat, "approve_ok")
    chat.as_user(APPLICANT)
    return chat


def test_mydata_shows_every_answer_and_sends_the_documents_back(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.complete_individual()
    chat.press("nav:submit")

    (message,) = chat.command("mydata")

    assert "张三" in message.text and VALID_ID in message.text and VALID_PHONE in message.text
    assert "DX-" in message.text and "居民身份证" in message.text
    assert "resident_id" not in message.text and "\n• 姓名：张三" in message.text
    stored = {d.storage_key for d in chat.applicant.application.documents.values()}  # type: ignore[union-attr]
    assert {a.storage_key for a in message.attachments} == stored and len(stored) == 2
    assert chat.buttons == ["del:ask"]


def test_mydata_before_consent_says_nothing_is_held_and_asks_nothing(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    (message,) = chat.command("mydata")
    assert "没有任何申请" in message.text
    assert message.attachments == ()


def test_mydata_mid_application_repeats_the_question(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.start_as("individual")
    chat.text("张三")
    data, question = chat.command("mydata")
    assert "张三" in data.text
    assert chat.state == "id_type" and question.buttons


def test_delete_asks_first_and_keeping_changes_nothing(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.complete_individual()
    before = chat.applicant

    (confirm,) = chat.command("delete")
    assert chat.buttons == ["del:yes", "del:no"]
    chat.press("del:no")

    assert chat.applicant.application == before.application
    assert chat.documents.deleted == []
    assert "删除" in confirm.text


def test_a_delete_confirmation_that_was_never_asked_for_changes_nothing(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.complete_individual()
    chat.command("delete")
    chat.text("张三")  # anything in between makes the confirmation stale
    before = chat.applicant

    (stale, *_question) = chat.press("del:yes")

    assert "失效" in stale.text
    assert chat.applicant.application == before.application
    assert chat.documents.deleted == []


def test_delete_erases_the_draft_its_files_and_the_conversation(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.complete_individual()
    keys = set(chat.documents.blobs)

    chat.command("delete")
    (done,) = chat.press("del:yes")

    assert "已全部删除" in done.text
    assert chat.db.applicants == {} and chat.db.applications == {}
    assert set(chat.documents.deleted) == keys and chat.documents.blobs == {}
    chat.command("start")
    assert chat.state == "consent"  # a new person to the bot


def test_delete_during_review_withdraws_tells_reviewers_and_keeps_only_a_bare_audit_trail(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "claim")
    chat.as_user(APPLICANT)

    (confirm,) = chat.command("delete")
    assert "撤回" in confirm.text
    replies = chat.press("del:yes")

    edited, notice = to(replies, GROUP)
    assert edited.tag == "card:1" and edited.edit and notice.tag is None
    assert "DX-" in edited.text and "张三" not in edited.text and "1101" not in edited.text
    assert chat.db.applicants == {} and chat.db.applications == {}
    assert chat.documents.blobs == {}
    events = [e.event for e in chat.db.audit]
    assert events[-2:] == ["withdrawn", "erased"]
    assert all(
        set(e.data) <= {"outcome", "reasons", "round", "field", "erased"} for e in chat.db.audit
    )


def test_reviewers_cannot_act_on_an_erased_application(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    chat.command("delete")
    chat.press("del:yes")
    as_reviewer(chat)
    assert toasts(tap(chat, "claim")) and chat.db.applications == {}


def test_retention_purges_answers_and_files_only_after_the_period(tmp_path: Path) -> None:
    chat = approved(tmp_path)
    closed = chat.db.applications[1].closed_at
    assert closed is not None and chat.db.applications[1].status == Status.APPROVED
    keys = set(chat.documents.blobs)

    early = chat.service.privacy.purge(closed + timedelta(days=179))
    assert early.numbers == [] and chat.documents.blobs.keys() == keys

    report = chat.service.privacy.purge(closed + timedelta(days=181))

    assert report.numbers == ["DX-2026-000001"] and report.files == 2
    assert chat.documents.blobs == {}
    kept = chat.db.applications[1]
    assert kept.answers == {} and kept.documents == {} and kept.purged_at is not None
    assert kept.number == "DX-2026-000001" and kept.status == Status.APPROVED
    assert chat.db.audit[-1].event == "purged"
    (status,) = chat.command("status")
    assert "DX-2026-000001" in status.text
    assert chat.service.privacy.purge(closed + timedelta(days=400)).numbers == []


def test_open_applications_are_never_purged(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    chat.clock.current += timedelta(days=1000)
    assert chat.service.privacy.purge().numbers == []
    assert len(chat.documents.blobs) == 2


def test_a_reviewer_sees_the_full_id_only_in_their_own_alert_and_it_is_audited(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)

    replies = tap(chat, "reveal")

    (alert,) = [m for m in replies if m.toast]
    assert VALID_ID in alert.text and alert.alert
    assert to(replies, GROUP) == []  # nothing posted where the whole group would see it
    revealed = chat.db.audit[-1]
    assert revealed.event == "revealed" and revealed.actor_id == 7
    assert revealed.data == {"field": "id_number"}


def test_someone_without_the_reviewer_role_cannot_reveal_an_id(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    chat.in_group(STRANGER, GROUP)
    audit_before = list(chat.db.audit)

    replies = tap(chat, "reveal")

    assert all(VALID_ID not in m.text for m in replies)
    assert chat.db.audit == audit_before
