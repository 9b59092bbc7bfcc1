"""The review desk in the core: reviewers' actions, what applicants are told, the records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.content.render import RenderedMessage
from cardbot.core import flow as states
from cardbot.core.events import GroupReply
from cardbot.core.model import Status
from cardbot.core.roles import REVIEWER
from cardbot.core.workdays import add_working_days, working_days_after
from tests.support import files
from tests.support.harness import Harness

GROUP = -100777
APPLICANT = 1001
REVIEWER_ID = 7
OTHER_REVIEWER = 8
STRANGER = 9


def desk(tmp_path: Path, **kwargs: object) -> Harness:
    """A harness with a review group and two reviewers, and one submitted application."""
    chat = Harness(tmp_path, review_chat_id=GROUP, **kwargs)  # type: ignore[arg-type]
    with chat.unit_of_work() as uow:
        uow.roles.grant(REVIEWER_ID, REVIEWER, None)
        uow.roles.grant(OTHER_REVIEWER, REVIEWER, None)
        uow.commit()
    chat.complete_individual()
    chat.press("nav:submit")
    return chat


def as_reviewer(chat: Harness, user_id: int = REVIEWER_ID) -> None:
    chat.in_group(user_id, GROUP, name=f"Reviewer {user_id}")


def tap(chat: Harness, op: str) -> list[RenderedMessage]:
    """Press a card button of application 1."""
    return chat.press(f"rv:1:{op}")


def to(messages: list[RenderedMessage], chat_id: int) -> list[RenderedMessage]:
    return [m for m in messages if m.chat_id == chat_id and not m.toast]


def toasts(messages: list[RenderedMessage]) -> list[str]:
    return [m.text for m in messages if m.toast]


def status(chat: Harness) -> Status:
    with chat.unit_of_work() as uow:
        app = uow.load_application_by_id(1)
    assert app is not None
    return app.status


def test_submission_posts_a_card_with_masked_id_and_every_document(tmp_path: Path) -> None:
    chat = Harness(tmp_path, review_chat_id=GROUP)
    chat.complete_individual()
    replies = chat.press("nav:submit")
    (card,) = to(replies, GROUP)
    assert "1101**********002X" in card.text and "11010519491231002X" not in card.text
    assert [a.caption for a in card.attachments] == [
        "身份证人像面（正面）",
        "身份证国徽面（背面）",
    ]
    assert card.tag == "card:1" and not card.edit
    assert [data for row in card.buttons for _, data in row] == [
        "rv:1:claim",
        "rv:1:note",
        "rv:1:reveal",
    ]
    (told,) = to(replies, APPLICANT)
    assert "预计在" in told.text


def test_claim_tells_the_applicant_and_shows_who_has_it(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    replies = tap(chat, "claim")
    (told,) = to(replies, APPLICANT)
    assert "开始审核" in told.text
    (card,) = to(replies, GROUP)
    assert card.edit and "Reviewer 7" in card.text
    assert status(chat) == Status.IN_REVIEW
    as_reviewer(chat, OTHER_REVIEWER)
    replies = tap(chat, "approve")
    assert toasts(replies) == ["该申请已由 Reviewer 7 处理。"]
    assert status(chat) == Status.IN_REVIEW


def test_approval_needs_a_confirmation_and_reaches_the_applicant_once(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "approve")  # claims it, asks to confirm
    replies = tap(chat, "approve_ok")
    approved = [m for m in to(replies, APPLICANT) if "已通过审核" in m.text]
    assert len(approved) == 1
    (card,) = to(replies, GROUP)
    assert "结果：已通过" in card.text and card.buttons == []
    again = tap(chat, "approve_ok")  # a double tap
    assert to(again, APPLICANT) == [] and toasts(again)
    chat.as_user(APPLICANT)
    assert chat.state == states.IDLE
    (status_message, *_) = chat.command("status")
    assert "已通过" in status_message.text


def test_investigation_tells_the_applicant_it_takes_longer(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "claim")
    replies = tap(chat, "investigate")
    (told,) = to(replies, APPLICANT)
    assert "进一步核查" in told.text
    assert status(chat) == Status.INVESTIGATING


def test_rejection_lists_every_reason_and_offers_a_prefilled_new_application(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "reject")
    assert toasts(tap(chat, "send")) == ["请至少选择一个原因。"]
    tap(chat, "r:expired")
    tap(chat, "r:other")
    replies = tap(chat, "send")
    (told,) = [m for m in to(replies, APPLICANT) if "未通过" in m.text]
    assert "证件已过期" in told.text and "其他原因" in told.text
    assert any(data == "nav:reapply" for row in told.buttons for _, data in row)
    chat.as_user(APPLICANT)
    replies = chat.press("nav:reapply")
    assert "身份证正反面" in replies[0].text  # the expired ID card is asked again
    applicant = chat.applicant
    assert applicant.application is not None and applicant.application.id != 1
    assert applicant.application.answers["full_name"] == "张三"
    assert applicant.state == "id_card"


def test_a_final_rejection_offers_no_new_application(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "reject")
    tap(chat, "r:false_information")
    replies = tap(chat, "send")
    (told,) = [m for m in to(replies, APPLICANT) if "未通过" in m.text]
    assert "nav:reapply" not in [data for row in told.buttons for _, data in row]
    chat.as_user(APPLICANT)
    assert "stale" in chat.press("nav:reapply")[0].text or chat.state == states.IDLE


def test_resubmission_asks_only_the_named_items_and_marks_what_changed(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    tap(chat, "resubmit")
    assert toasts(tap(chat, "next")) == ["请至少选择一个原因。"]
    tap(chat, "r:unreadable")
    tap(chat, "next")
    assert toasts(tap(chat, "send")) == ["请至少选择一个需要重新提供的项目。"]
    tap(chat, "i:id_card")
    replies = tap(chat, "send")
    request, prompt = to(replies, APPLICANT)
    assert "身份证正反面" in request.text and "文件看不清" in request.text
    assert "人像面" in prompt.text
    chat.as_user(APPLICANT)
    assert chat.state == "id_card"
    assert "不能" in chat.command("back")[0].text or chat.state == "id_card"
    chat.upload(files.photo(seed=11), group="again")
    summary = chat.upload(files.photo(seed=12), group="again")[-1]
    edit_targets = [data for row in summary.buttons for _, data in row]
    assert "nav:submit" in edit_targets
    chat.press("nav:edit")
    assert [d for row in chat.last.buttons for _, d in row if d.startswith("edit:")] == [  # type: ignore[union-attr]
        "edit:id_card"
    ]
    replies = chat.press("nav:submit")
    (card,) = to(replies, GROUP)
    assert "本次更新：身份证正反面" in card.text and "第 2 次提交" in card.text
    assert len(card.attachments) == 2  # only the changed documents
    assert status(chat) == Status.IN_REVIEW


def test_people_without_the_reviewer_role_and_forged_buttons_change_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = desk(tmp_path)
    before = chat.db.commits
    as_reviewer(chat, STRANGER)
    for op in ("claim", "approve", "approve_ok", "r:expired", "note"):
        assert toasts(tap(chat, op)) == ["仅限审核人员操作。"]
    assert "not a reviewer" in caplog.text
    as_reviewer(chat)
    for data in ("rv:999:claim", "rv:x:claim", "rv:1", "rv:1:frobnicate", "rv:1:r:../../etc"):
        replies = chat.press(data)
        assert to(replies, APPLICANT) == []
    tap(chat, "reject")
    assert toasts(tap(chat, "r:not_a_reason")) == [
        "这个按钮已失效，请查看最新的卡片（/show 编号）。"
    ]
    assert status(chat) == Status.IN_REVIEW
    assert chat.db.commits > before  # deliveries are recorded, nothing else changed
    chat.in_group(STRANGER, GROUP)
    assert "仅限审核人员" in chat.command("queue")[0].text


def test_notes_stay_internal_and_appear_on_the_card(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat, OTHER_REVIEWER)
    (prompt,) = to(tap(chat, "note"), GROUP)
    replies = chat.send(GroupReply(prompt.text, "营业执照 <待核实>"))
    assert to(replies, APPLICANT) == []
    (card,) = to(replies, GROUP)
    assert "营业执照 &lt;待核实&gt;" in card.text
    stray = chat.send(GroupReply(prompt.text, "again"))
    assert "没有被记录" in stray[0].text


def test_help_in_the_review_group_is_answered_there_with_the_reviewer_help(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    (reply,) = chat.command("help")
    assert reply.chat_id == GROUP
    assert reply.text.splitlines()[:2] == [
        "ℹ️ <b>审核群使用说明</b>",
        "• 每个提交的申请都会以卡片形式发到这里，材料随后附上。",
    ]
    assert "「🙋 认领」" in reply.text and "/show 申请编号" in reply.text
    assert "还没有审核权限" not in reply.text
    chat.in_group(STRANGER, GROUP)
    (reply,) = chat.command("help")
    assert reply.text.endswith("您还没有审核权限，请联系管理员授予 reviewer 角色。")


def test_queue_lists_open_applications_with_their_working_day_age(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    chat.clock.current = datetime(2026, 12, 11, 2, 0, tzinfo=UTC)  # 9th working day
    as_reviewer(chat)
    (queue,) = chat.command("queue")
    assert "DX-2026-000001" in queue.text and "第 9 个工作日" in queue.text and "🟠" in queue.text
    (card,) = [m for m in chat.command("show", "dx-2026-000001") if m.chat_id == GROUP]
    assert len(card.attachments) == 2
    assert "找不到" in chat.command("show", "DX-2026-999999")[0].text


def test_a_reminder_goes_out_once_on_the_eighth_working_day(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    chat.clock.current = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)  # 7th working day
    assert chat.service.review.reminders() == []
    chat.clock.current = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 8th
    (reminder,) = chat.service.review.reminders()
    assert reminder.chat_id == GROUP and reminder.context["number"] == "DX-2026-000001"
    assert chat.service.review.reminders() == []


def test_reminders_count_working_days_by_rule_in_a_year_with_no_published_schedule(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, now=datetime(2031, 9, 30, 2, 0, tzinfo=UTC))  # before National Day
    chat.clock.current = datetime(2031, 10, 14, 2, 0, tzinfo=UTC)  # 7th working day
    assert chat.service.review.reminders() == []
    chat.clock.current = datetime(2031, 10, 15, 2, 0, tzinfo=UTC)  # 8th
    (reminder,) = chat.service.review.reminders()
    assert reminder.context["number"] == "DX-2031-000001"


def test_due_dates_count_working_days_across_national_day_and_beyond_known_years() -> None:
    calendar = ChinaWorkingCalendar()
    # Submitted the day before the National Day holiday: the week off does not count.
    due, estimate = add_working_days(calendar, date(2026, 9, 30), 10)
    assert due == date(2026, 10, 20) and not estimate
    assert working_days_after(calendar, date(2026, 9, 30), date(2026, 10, 7)) == 0
    # Into a year chinese-calendar does not know yet: computed by rule, flagged as an estimate.
    due, estimate = add_working_days(calendar, date(2026, 12, 24), 10)
    assert due == date(2027, 1, 8) and estimate


def test_every_step_is_in_the_audit_trail_and_back_office_gets_no_personal_data(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, back_office=True)
    as_reviewer(chat)
    (prompt,) = to(tap(chat, "note"), GROUP)
    chat.send(GroupReply(prompt.text, "looks fine"))
    tap(chat, "approve")
    tap(chat, "approve_ok")
    events = [e.event for e in chat.db.audit]
    assert events == ["submitted", "noted", "claimed", "notified", "decided", "notified"]
    decided = next(e for e in chat.db.audit if e.event == "decided")
    assert decided.actor_id == REVIEWER_ID and decided.data["outcome"] == "approved"
    assert [p["status"] for p in chat.db.outbox] == ["submitted", "in_review", "approved"]
    for payload in chat.db.outbox:
        assert "张三" not in str(payload) and "1101" not in str(payload)


def test_withdrawing_during_a_resubmission_tells_the_reviewers(tmp_path: Path) -> None:
    chat = desk(tmp_path)
    as_reviewer(chat)
    for op in ("resubmit", "r:unreadable", "next", "i:id_card", "send"):
        tap(chat, op)
    chat.as_user(APPLICANT)
    (confirm,) = chat.command("cancel")
    assert "撤回" in confirm.text
    replies = chat.press("nav:cancel_yes")
    (card,) = to(replies, GROUP)
    assert "结果：已撤回" in card.text and card.buttons == []
    assert any("已撤回申请" in m.text for m in to(replies, APPLICANT))
    assert status(chat) == Status.WITHDRAWN
    assert chat.db.audit[-1].event == "withdrawn"
    assert chat.state == states.IDLE
