"""The review desk in the core: reviewers' actions, what applicants are told, the records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.content.render import RenderedMessage
from cardbot.core import flow as states
from cardbot.core.events import GroupReply
from cardbot.core.image_hash import SIMILAR_IMAGE_DISTANCE, hash_distance
from cardbot.core.model import Status
from cardbot.core.roles import REVIEWER
from cardbot.core.workdays import add_working_days, working_days_after
from tests.support import files
from tests.support.harness import VALID_PHONE, Harness
from tests.support.synthetic_documents import id_card, needs_fonts

GROUP = -100777
APPLICANT = 1001
REVIEWER_ID = 7
OTHER_REVIEWER = 8
STRANGER = 9


def desk(tmp_path: Path, *, started: bool = False, **kwargs: object) -> Harness:
    """A harness with a review group and two reviewers, and one submitted application;
    `started`: the reviewers have started the bot privately (documents can reach them)."""
    chat = Harness(tmp_path, review_chat_id=GROUP, **kwargs)  # type: ignore[arg-type]
    with chat.unit_of_work() as uow:
        uow.roles.grant(REVIEWER_ID, REVIEWER, None)
        uow.roles.grant(OTHER_REVIEWER, REVIEWER, None)
        uow.commit()
    for reviewer in (REVIEWER_ID, OTHER_REVIEWER) if started else ():
        chat.as_user(reviewer)
        chat.command("start")
    chat.as_user(APPLICANT)
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


def test_submission_posts_a_masked_card_without_documents(tmp_path: Path) -> None:
    chat = Harness(tmp_path, review_chat_id=GROUP)
    chat.complete_individual()
    replies = chat.press("nav:submit")
    (card,) = to(replies, GROUP)
    assert "1101**********002X" in card.text and "11010519491231002X" not in card.text
    assert "张*" in card.text and "张三" not in card.text
    assert "+86*********00" in card.text and "13800138000" not in card.text
    assert card.attachments == ()
    assert card.tag == "card:1" and not card.edit
    assert [data for row in card.buttons for _, data in row] == [
        "rv:1:claim",
        "rv:1:note",
        "rv:1:docs",
    ]
    (told,) = to(replies, APPLICANT)
    assert "预计在" in told.text


def test_claim_tells_the_applicant_and_shows_who_has_it(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    replies = tap(chat, "claim")
    (told,) = to(replies, APPLICANT)
    assert "开始审核" in told.text
    (card,) = to(replies, GROUP)
    assert card.edit and "Reviewer 7" in card.text
    (dossier,) = to(replies, REVIEWER_ID)
    assert "11010519491231002X" in dossier.text and "张三" in dossier.text
    assert len(dossier.attachments) == 2
    assert toasts(replies) == ["已认领，申请人已收到通知。完整资料已私聊发给你。"]
    assert status(chat) == Status.IN_REVIEW
    as_reviewer(chat, OTHER_REVIEWER)
    replies = tap(chat, "approve")
    assert toasts(replies) == ["该申请已由 Reviewer 7 处理。"]
    assert status(chat) == Status.IN_REVIEW


def test_approval_needs_a_confirmation_and_reaches_the_applicant_once(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
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
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "claim")
    (card,) = to(tap(chat, "investigate"), GROUP)  # asks to confirm, showing the notice
    assert "申请人将收到" in card.text and "核实身份证件和联系方式" in card.text
    assert "市场监督管理" not in card.text  # an individual has no company records
    assert status(chat) == Status.IN_REVIEW
    replies = tap(chat, "investigate_ok")
    (told,) = to(replies, APPLICANT)
    assert "进一步核查" in told.text and "市场监督管理" not in told.text
    assert status(chat) == Status.INVESTIGATING


def test_rejection_lists_every_reason_and_offers_a_prefilled_new_application(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
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
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "reject")
    tap(chat, "r:false_information")
    replies = tap(chat, "send")
    (told,) = [m for m in to(replies, APPLICANT) if "未通过" in m.text]
    assert "nav:reapply" not in [data for row in told.buttons for _, data in row]
    chat.as_user(APPLICANT)
    assert "stale" in chat.press("nav:reapply")[0].text or chat.state == states.IDLE


def test_resubmission_asks_only_the_named_items_and_marks_what_changed(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "resubmit")
    assert toasts(tap(chat, "s:unreadable")) == ["请至少选择一个需要重新提供的项目。"]
    tap(chat, "i:id_card")
    replies = tap(chat, "s:unreadable")  # the third tap sends it
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
    (old, card) = to(replies, GROUP)
    assert old.edit and old.tag == card.tag == "card:1" and not card.edit
    assert "已由下方新的卡片取代" in old.text and old.buttons == []
    assert "本次更新：身份证正反面" in card.text and "第 2 次提交" in card.text
    assert card.attachments == ()
    (dossier,) = to(replies, REVIEWER_ID)  # back to the same reviewer, privately, complete
    assert len(dossier.attachments) == 2 and "🆕 本次更新：身份证正反面" in dossier.text
    assert status(chat) == Status.IN_REVIEW


def test_people_without_the_reviewer_role_and_forged_buttons_change_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = desk(tmp_path, started=True)
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
    chat = desk(tmp_path, started=True)
    as_reviewer(chat, OTHER_REVIEWER)
    (prompt,) = to(tap(chat, "note"), GROUP)
    replies = chat.send(GroupReply(prompt.text, "营业执照 <待核实>"))
    assert to(replies, APPLICANT) == []
    (closed, card) = to(replies, GROUP)
    assert closed.edit and closed.tag == "ask:1:8:note" == prompt.tag
    assert "备注已记录" in closed.text
    assert "营业执照 &lt;待核实&gt;" in card.text
    stray = chat.send(GroupReply(prompt.text, "again"))
    assert "没有被记录" in stray[0].text


def test_help_in_the_review_group_is_answered_there_with_the_reviewer_help(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    (reply,) = chat.command("help")
    assert reply.chat_id == GROUP
    assert reply.text.splitlines()[:2] == [
        "ℹ️ <b>审核群使用说明</b>",
        "• 每个提交的申请都会以卡片形式发到这里；姓名、证件号和电话只显示部分。",
    ]
    assert "「🙋 认领」" in reply.text and "/show 申请编号" in reply.text
    assert "还没有审核权限" not in reply.text
    chat.in_group(STRANGER, GROUP)
    (reply,) = chat.command("help")
    assert reply.text.endswith("您还没有审核权限，请联系管理员授予 reviewer 角色。")


def test_queue_lists_open_applications_with_their_working_day_age(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    chat.clock.current = datetime(2026, 12, 11, 2, 0, tzinfo=UTC)  # 9th working day
    as_reviewer(chat)
    (queue,) = chat.command("queue")
    assert "DX-2026-000001" in queue.text and "第 9 个工作日" in queue.text and "🟠" in queue.text
    shown = chat.command("show", "dx-2026-000001")
    (old, card) = to(shown, GROUP)
    assert old.edit and "取代" in old.text
    assert card.attachments == () and "11010519491231002X" not in card.text
    (dossier,) = to(shown, REVIEWER_ID)
    assert len(dossier.attachments) == 2
    assert "找不到" in chat.command("show", "DX-2026-999999")[0].text


def test_a_reminder_goes_out_once_on_the_eighth_working_day(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
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
    assert events == [
        "submitted",
        "noted",
        "claimed",
        "notified",
        "decided",
        "notified",
    ]
    decided = next(e for e in chat.db.audit if e.event == "decided")
    assert decided.actor_id == REVIEWER_ID and decided.data["outcome"] == "approved"
    assert [p["status"] for p in chat.db.outbox] == ["submitted", "in_review", "approved"]
    for payload in chat.db.outbox:
        assert "张三" not in str(payload) and "1101" not in str(payload)


def test_withdrawing_during_a_resubmission_tells_the_reviewers(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    for op in ("resubmit", "i:id_card", "s:unreadable"):
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


def test_documents_go_only_to_reviewers_privately_and_are_audited(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat, STRANGER)
    replies = tap(chat, "docs")
    assert toasts(replies) == ["仅限审核人员操作。"]
    assert [m for m in replies if m.attachments or "11010519491231002X" in m.text] == []
    as_reviewer(chat, OTHER_REVIEWER)
    replies = tap(chat, "docs")
    (dossier,) = to(replies, OTHER_REVIEWER)
    assert len(dossier.attachments) == 2 and to(replies, GROUP) == []
    assert toasts(replies) == ["DX-2026-000001 的完整资料已私聊发给你（已记录）。"]
    with chat.unit_of_work() as uow:
        sent = [e for e in uow.audit.history("DX-2026-000001") if e.event == "documents_sent"]
    assert [(e.actor_id, e.data) for e in sent] == [
        (OTHER_REVIEWER, {"to": OTHER_REVIEWER, "why": "asked"})
    ]


def test_a_reviewer_who_never_started_the_bot_is_told_in_the_group(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    newcomer = 55
    with chat.unit_of_work() as uow:
        uow.roles.grant(newcomer, REVIEWER, None)
        uow.commit()
    as_reviewer(chat, newcomer)
    replies = tap(chat, "claim")
    notice = [m for m in to(replies, GROUP) if not m.edit]
    assert len(notice) == 1 and "/start" in notice[0].text
    assert [m for m in replies if m.attachments] == []
    assert toasts(replies) == ["已认领，申请人已收到通知。"]


def test_every_decision_confirms_showing_what_the_applicant_reads_within_three_taps(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "reject")  # 1 (claims it)
    (card,) = to(tap(chat, "r:expired"), GROUP)  # 2
    assert "申请人将收到" in card.text and "证件已过期" in card.text
    assert status(chat) == Status.IN_REVIEW
    assert [d for row in card.buttons for _, d in row][-3:] == [
        "rv:1:send",
        "rv:1:comment",
        "rv:1:back",
    ]
    (card,) = to(chat.send(GroupReply(card.text, "请换 <新证>")), GROUP)  # typed, no tap
    assert "请换 &lt;新证&gt;" in card.text and "申请人将收到" in card.text
    assert status(chat) == Status.IN_REVIEW
    replies = tap(chat, "send")  # 3
    (told,) = [m for m in to(replies, APPLICANT) if "未通过审核" in m.text]
    assert "请换 &lt;新证&gt;" in told.text
    assert status(chat) == Status.REJECTED


def test_a_resubmission_with_a_comment_takes_three_taps_and_offers_only_fitting_reasons(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)

    def reasons_offered(card: RenderedMessage) -> list[str]:
        return [d.removeprefix("rv:1:s:") for row in card.buttons for _, d in row if ":s:" in d]

    (card,) = to(tap(chat, "resubmit"), GROUP)  # 1
    assert "<b>2026-12-14</b> 前提交" in card.text  # 10 working days after 2026-11-30
    assert reasons_offered(card) == [], "no reason before an item is ticked"
    (card,) = to(tap(chat, "i:phone"), GROUP)  # 2
    assert reasons_offered(card) == ["unreadable", "mismatch", "wrong_document", "other"]
    (card,) = to(tap(chat, "i:id_card"), GROUP)  # another item: a tap more, by choice
    assert "expired" in reasons_offered(card), "an ID card can be out of date"
    assert "company_changed" not in reasons_offered(card)
    ticked = [label for row in card.buttons for label, _ in row if label.startswith("☑")]
    assert ticked == ["☑ 联系电话", "☑ 身份证正反面"]
    (card,) = to(chat.send(GroupReply(card.text, "号码 <停机>")), GROUP)  # typed, no tap
    assert "说明：号码 &lt;停机&gt;" in card.text
    assert status(chat) == Status.IN_REVIEW
    assert toasts(tap(chat, "s:company_changed")) == [
        "这个按钮已失效，请查看最新的卡片（/show 编号）。"
    ]
    assert status(chat) == Status.IN_REVIEW, "a reason that fits no ticked item sends nothing"
    replies = tap(chat, "s:expired")  # 3: sent
    (request, _prompt) = to(replies, APPLICANT)
    assert "联系电话" in request.text and "身份证正反面" in request.text
    assert "证件已过期" in request.text and "号码 &lt;停机&gt;" in request.text
    assert "<b>2026-12-14</b> 前提交" in request.text
    assert status(chat) == Status.RESUBMISSION_REQUESTED
    decided = next(e for e in chat.db.audit if e.event == "decided")
    assert decided.data["reasons"] == ["expired"]
    assert decided.data["items"] == ["phone", "id_card"]


def test_the_claimer_releases_and_an_admin_reassigns_with_an_audit(tmp_path: Path) -> None:
    admin = 4
    chat = desk(tmp_path, started=True, admin_ids={admin})
    as_reviewer(chat)
    tap(chat, "claim")
    as_reviewer(chat, OTHER_REVIEWER)
    assert toasts(tap(chat, "release")) == ["该申请已由 Reviewer 7 处理。"]
    as_reviewer(chat)
    replies = tap(chat, "release")
    assert toasts(replies) == ["DX-2026-000001 已放回待认领队列。"]
    (card,) = to(replies, GROUP)
    assert card.buttons[0][0][1] == "rv:1:claim"
    assert status(chat) == Status.SUBMITTED
    as_reviewer(chat, OTHER_REVIEWER)
    tap(chat, "claim")
    as_reviewer(chat, OTHER_REVIEWER)
    assert "仅限管理员" in chat.command("assign", f"DX-2026-000001 {REVIEWER_ID}")[0].text
    chat.in_group(admin, GROUP, name="Admin")
    assert "没有审核权限" in chat.command("assign", f"DX-2026-000001 {STRANGER}")[0].text
    replies = chat.command("assign", f"DX-2026-000001 {REVIEWER_ID}")
    assert any("交给" in m.text for m in to(replies, GROUP))
    (dossier,) = to(replies, REVIEWER_ID)
    assert len(dossier.attachments) == 2
    with chat.unit_of_work() as uow:
        events = [(e.event, e.actor_id, e.data) for e in uow.audit.history("DX-2026-000001")]
    assert ("released", REVIEWER_ID, {"reviewer": REVIEWER_ID}) in events
    assert ("reassigned", admin, {"to": REVIEWER_ID, "was": OTHER_REVIEWER}) in events
    as_reviewer(chat)
    tap(chat, "approve")
    tap(chat, "approve_ok")
    assert status(chat) == Status.APPROVED


def test_revoking_a_reviewer_releases_their_claims(tmp_path: Path) -> None:
    admin = 4
    chat = desk(tmp_path, started=True, admin_ids={admin})
    as_reviewer(chat)
    tap(chat, "claim")
    tap(chat, "investigate")
    tap(chat, "investigate_ok")
    chat.as_user(admin)
    replies = chat.command("revoke", f"{REVIEWER_ID} reviewer")
    (card, notice) = to(replies, GROUP)
    assert card.edit and card.buttons[0][0][1] == "rv:1:claim"
    assert "权限已被撤销" in notice.text
    assert status(chat) == Status.INVESTIGATING  # still under further checks, now unclaimed
    as_reviewer(chat, OTHER_REVIEWER)
    replies = tap(chat, "claim")
    assert to(replies, APPLICANT) == []  # already told: further checks
    assert "Reviewer 8" in to(replies, GROUP)[0].text


def test_mine_lists_my_claims_oldest_first_with_due_dates(tmp_path: Path) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "claim")
    (mine,) = chat.command("mine")
    assert "DX-2026-000001" in mine.text and "截止 2026-12-14" in mine.text
    as_reviewer(chat, OTHER_REVIEWER)
    (mine,) = chat.command("mine")
    assert "DX-2026-000001" not in mine.text and "目前没有" in mine.text


def test_a_comment_prompt_is_closed_when_answered_and_note_prompts_at_the_decision(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat, OTHER_REVIEWER)
    (note_prompt,) = to(tap(chat, "note"), GROUP)
    as_reviewer(chat)
    tap(chat, "reject")
    tap(chat, "r:expired")
    (prompt,) = to(tap(chat, "comment"), GROUP)
    assert prompt.tag == "ask:1:7:comment"
    (closed, card) = to(chat.send(GroupReply(prompt.text, "请换新证")), GROUP)
    assert closed.tag == prompt.tag and "说明已收到" in closed.text
    assert "请换新证" in card.text
    replies = tap(chat, "send")
    closed_notes = [m for m in to(replies, GROUP) if m.tag == note_prompt.tag]
    assert len(closed_notes) == 1 and "已作出决定" in closed_notes[0].text


def test_forged_and_stale_taps_are_logged_as_warnings_without_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    caplog.clear()
    with caplog.at_level("WARNING", logger="cardbot.core.review"):
        chat.press("rv:1:frobnicate")  # forged
        chat.press("rv:999:claim")  # no such application
        tap(chat, "approve")
        tap(chat, "approve_ok")
        tap(chat, "approve_ok")  # stale: decided already
    refused = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(refused) == 3, refused
    assert all("review button refused" in line for line in refused)
    assert not any("张三" in line or "11010519491231002X" in line for line in refused)


def reencoded(data: bytes, *, quality: int = 60, scale: float = 1.0) -> bytes:
    """The same picture saved again: another JPEG quality, another size."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_an_approved_identity_and_its_photos_reused_are_flagged_with_the_outcome(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "approve")
    tap(chat, "approve_ok")
    chat.as_user(2002)
    chat.start_as("individual")
    chat.fill_identity()  # the same ID number as DX-2026-000001, approved
    chat.upload(reencoded(files.photo(seed=1)), group="album")  # re-encoded at quality 60
    chat.upload(reencoded(files.photo(seed=2), scale=0.5), group="album")  # half the size
    replies = chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.number == "DX-2026-000002"
    assert [(f.code, f.applications, f.outcomes, f.field, f.document) for f in app.flags] == [
        ("id_number_in_use", ("DX-2026-000001",), ("approved",), "id_number", None),
        ("similar_photo", ("DX-2026-000001",), ("approved",), None, "id_front"),
    ]  # the back is never compared: every card's back looks the same
    (card,) = to(replies, GROUP)
    assert "同一证件号码也出现在以下申请中（不论状态）：DX-2026-000001（已通过）" in card.text
    assert (
        "• 身份证人像面（正面） · 照片与以下申请中的非常相似（可能是同一张照片重新压缩、缩放或"
        "翻拍；同类证件也会相似，请打开比对）：DX-2026-000001（已通过）"
    ) in card.text
    assert "11010519491231002X" not in card.text
    as_reviewer(chat, OTHER_REVIEWER)
    (dossier,) = to(tap_application(chat, 2, "docs"), OTHER_REVIEWER)
    assert "同一证件号码也出现在以下申请中（不论状态）：DX-2026-000001（已通过）" in dossier.text


@needs_fonts
def test_two_peoples_id_card_backs_look_alike_but_are_never_called_similar(
    tmp_path: Path,
) -> None:
    chat = Harness(tmp_path)
    backs = [id_card("clear", seed)[1] for seed in (1, 2)]
    for user_id, back, front_seed in ((3001, backs[0], 21), (3002, backs[1], 22)):
        chat.as_user(user_id)
        chat.start_as("individual")
        chat.fill_identity()
        chat.upload(files.photo(seed=front_seed), group="album")
        chat.upload(back.image, group="album")
        chat.press("nav:submit")
    with chat.unit_of_work() as uow:
        stored = [uow.load_applicant(user_id) for user_id in (3001, 3002)]
        hashes = [a.application.documents["id_back"].phash for a in stored if a and a.application]
    assert len(hashes) == 2 and None not in hashes
    assert hash_distance(str(hashes[0]), str(hashes[1])) <= SIMILAR_IMAGE_DISTANCE  # alike
    app = chat.applicant.application
    assert app is not None and [f.document for f in app.flags if f.code == "similar_photo"] == []


def test_a_flag_shows_the_earlier_applications_status_of_now_not_of_the_flags_day(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    chat.as_user(2002)
    chat.start_as("individual")
    chat.fill_identity()  # the same ID number as DX-2026-000001, still waiting
    chat.upload(files.photo(seed=7), group="album")
    chat.upload(files.photo(seed=8), group="album")
    chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and [f.outcomes for f in app.flags] == [("submitted",)]
    as_reviewer(chat)
    tap_application(chat, 1, "approve")
    tap_application(chat, 1, "approve_ok")
    (dossier,) = to(tap_application(chat, 2, "docs"), REVIEWER_ID)
    assert "DX-2026-000001（已通过）" in dossier.text
    (card,) = [m for m in to(chat.command("show", "2"), GROUP) if "DX-2026-000002" in m.text][-1:]
    assert "DX-2026-000001（已通过）" in card.text


def test_the_same_file_in_a_rejected_application_is_flagged_and_a_distinct_photo_is_not(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)
    as_reviewer(chat)
    tap(chat, "reject")
    tap(chat, "r:expired")
    tap(chat, "send")
    assert status(chat) == Status.REJECTED
    chat.as_user(2003)
    chat.start_as("individual")
    chat.text("李四")
    chat.press("pick:id_type:passport")
    chat.text("E99999999")
    chat.text(VALID_PHONE)
    chat.upload(files.photo(seed=1))  # the very file of DX-2026-000001
    chat.press("nav:submit")
    chat.as_user(2004)
    chat.start_as("individual")
    chat.text("王五")
    chat.press("pick:id_type:passport")
    chat.text("E88888888")
    chat.text(VALID_PHONE)
    chat.upload(files.photo(seed=9))  # another picture
    chat.press("nav:submit")
    with chat.unit_of_work() as uow:
        second = uow.load_application("DX-2026-000002")
        third = uow.load_application("DX-2026-000003")
    assert second is not None and third is not None
    assert [(f.code, f.applications, f.outcomes, f.document) for f in second.flags] == [
        ("document_in_use", ("DX-2026-000001",), ("rejected",), "passport")
    ]
    assert third.flags == []


def tap_application(chat: Harness, application_id: int, op: str) -> list[RenderedMessage]:
    """Press a card button of another application."""
    return chat.press(f"rv:{application_id}:{op}")


SUPPORT_GROUP = -100888


def ask_a_person(chat: Harness, question: str) -> list[RenderedMessage]:
    """Ask something the FAQ cannot answer and hand it to a person."""
    replies = chat.text(question)
    button = next(
        data for m in replies for row in m.buttons for _, data in row if data.startswith("human:")
    )
    return to(chat.press(button), SUPPORT_GROUP)


def test_a_support_question_names_the_application_once_there_is_one(tmp_path: Path) -> None:
    chat = Harness(tmp_path, review_chat_id=GROUP, support_chat_id=SUPPORT_GROUP, with_faq=True)
    chat.start_as("individual")
    (before,) = ask_a_person(chat, "你们办公室周末上班吗？")
    assert "#Q1" in before.text and "DX-" not in before.text
    chat.press("nav:back")
    chat.complete_individual()
    chat.press("nav:submit")
    (after,) = ask_a_person(chat, "你们办公室周末上班吗？还是不上班")
    assert after.text.startswith(
        "📨 <b>申请人提问 #Q2</b>（zh） · 申请 DX-2026-000001（已提交，等待审核）\n"
    )


def test_faqadmin_lists_each_entry_with_its_first_question_in_the_staff_language(
    tmp_path: Path,
) -> None:
    from cardbot.core.roles import STAFF
    from cardbot.core.staff import button_text

    chat = Harness(tmp_path, with_faq=True)
    with chat.unit_of_work() as uow:
        uow.roles.grant(4242, STAFF, None)
        uow.commit()
    chat.as_user(4242)
    (listing,) = chat.command("faqadmin")
    labels = [label for row in listing.buttons for label, _ in row]
    assert "approval-time · 审批需要多长时间？" in labels
    assert "legality · 怎么判断电销卡是不是合法的？" in labels
    assert [data for row in listing.buttons for _, data in row][-1] == "fa:new"
    chat.command("lang")
    chat.press("lang:en")
    (listing,) = chat.command("faqadmin")
    labels = [label for row in listing.buttons for label, _ in row]
    assert "approval-time · How long does approval take?" in labels
    long_one = "legality · How can I tell if a telemarketing card is l…"
    assert long_one in labels
    assert button_text("x", "") == "x"


def test_queue_filters_show_only_unclaimed_overdue_or_flagged_applications(
    tmp_path: Path,
) -> None:
    chat = desk(tmp_path, started=True)  # DX-2026-000001, submitted 2026-11-30
    as_reviewer(chat)
    tap(chat, "claim")
    chat.clock.current = datetime(2026, 12, 17, 2, 0, tzinfo=UTC)  # 13th working day
    chat.as_user(2002)
    chat.complete_individual((5, 6))  # the same ID number: flagged
    chat.press("nav:submit")
    as_reviewer(chat, OTHER_REVIEWER)

    def numbers(*args: str) -> list[str]:
        (queue,) = chat.command("queue", *args)
        assert queue.chat_id == GROUP
        return [n for n in ("DX-2026-000001", "DX-2026-000002") if n in queue.text]

    assert numbers() == ["DX-2026-000001", "DX-2026-000002"]
    assert numbers("unclaimed") == ["DX-2026-000002"]
    assert numbers("overdue") == ["DX-2026-000001"]
    assert numbers("FLAGGED") == ["DX-2026-000002"]
    (flagged,) = chat.command("queue", "flagged")
    assert "有预审提示（按提交时间" in flagged.text and "⚠️ 有预审提示" in flagged.text
    (usage,) = chat.command("queue", "mine")
    assert usage.text.startswith("用法：/queue") and "<code>flagged</code>" in usage.text
    tap(chat, "claim")  # application 1's card is claimed already: nothing changes
    chat.press("rv:2:claim")
    (none,) = chat.command("queue", "unclaimed")
    assert "没有符合条件的申请。" in none.text
    as_reviewer(chat, STRANGER)
    (refused,) = chat.command("queue", "flagged")
    assert "DX-2026-000002" not in refused.text
    as_reviewer(chat)
    (help_,) = chat.command("help")
    assert "/queue unclaimed" in help_.text and "/queue flagged" in help_.text
