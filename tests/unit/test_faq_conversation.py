"""Questions in the conversation, a person to ask, and the staff desk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cardbot.content.render import RenderedMessage
from cardbot.core.events import Command, GroupReply, Text
from tests.support.harness import Harness

SUPPORT_CHAT = -100200
ADMIN = 9001
STAFF_MEMBER = 9002
APPLICANT = 1001


@pytest.fixture
def chat(tmp_path: Path) -> Harness:
    return Harness(
        tmp_path, with_faq=True, admin_ids=frozenset({ADMIN}), support_chat_id=SUPPORT_CHAT
    )


def ask_person_button(replies: list[RenderedMessage]) -> str:
    """The data of the "ask a person" button among the replies."""
    return next(
        data
        for reply in replies
        for row in reply.buttons
        for _label, data in row
        if data.startswith("human:")
    )


def grant_staff(chat: Harness, user_id: int = STAFF_MEMBER) -> None:
    chat.as_user(ADMIN)
    chat.command("grant", f"{user_id} staff")
    chat.as_user(user_id)


def test_a_question_mid_application_is_answered_and_the_step_asked_again(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    replies = chat.text("审批一般要多久？")
    assert "3–10 个工作日" in replies[0].text
    assert "证件类型" in replies[-1].text
    assert chat.state == "id_type"
    assert (
        chat.applicant.application.answers["full_name"] if chat.applicant.application else ""
    ) == "张三"


def test_a_question_at_a_text_step_is_not_taken_as_the_answer(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    replies = chat.text("需要准备哪些材料？")
    assert "公司名称" in replies[-1].text
    assert chat.state == "company_name"
    assert chat.applicant.application is not None
    assert "company_name" not in chat.applicant.application.answers


def test_required_documents_are_rendered_from_the_dialogs(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.text("what documents do I need?")
    text = replies[0].text
    for label in ("营业执照复印件", "税务登记证明", "护照信息页"):
        assert label in text, label


def test_a_submitted_applicant_sees_their_own_decision_window(tmp_path: Path) -> None:
    chat = Harness(tmp_path, with_faq=True, now=datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    chat.complete_individual()
    chat.press("nav:submit")
    replies = chat.text("多久能批下来")
    assert "DX-2026-000001" in replies[0].text
    assert "2026-12-03" in replies[0].text and "2026-12-14" in replies[0].text
    assert "估算" not in replies[0].text


def test_a_december_window_reaching_2027_says_it_is_an_estimate(tmp_path: Path) -> None:
    chat = Harness(tmp_path, with_faq=True, now=datetime(2026, 12, 24, 2, 0, tzinfo=UTC))
    chat.complete_individual()
    chat.press("nav:submit")
    replies = chat.text("审批需要多长时间？")
    assert "2027-" in replies[0].text
    assert "估算" in replies[0].text


def test_in_a_year_no_schedule_is_published_for_the_window_skips_holidays_by_rule(
    tmp_path: Path,
) -> None:
    # 2031-09-30 10:00 in Beijing: National Day (1-3 October) and the weekend do not count.
    chat = Harness(tmp_path, with_faq=True, now=datetime(2031, 9, 30, 2, 0, tzinfo=UTC))
    chat.complete_individual()
    chat.press("nav:submit")
    (answer, *_rest) = chat.text("多久能批下来")
    assert "DX-2031-000001" in answer.text
    assert "2031-10-08" in answer.text and "2031-10-17" in answer.text
    assert "估算" in answer.text


def test_an_unanswerable_question_offers_suggestions_and_a_person(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.text("你们公司在哪个城市？")
    unsure = replies[0]
    assert "不太确定" in unsure.text
    assert any(data.startswith("human:") for row in unsure.buttons for _l, data in row)
    assert "姓名" in replies[-1].text
    assert chat.state == "full_name"
    with chat.unit_of_work() as uow:
        assert [q.question for q in uow.faq.unanswered(10)] == ["你们公司在哪个城市?"]


def test_greetings_get_no_faq_answer(chat: Harness) -> None:
    chat.start_as("individual")
    chat.tap("上一步")
    replies = chat.text("你好")
    assert "按钮" in replies[0].text
    with chat.unit_of_work() as uow:
        assert uow.faq.unanswered(10) == []


def test_faq_browses_every_entry_and_a_tap_answers(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.command("faq")
    with chat.unit_of_work() as uow:
        assert chat.faq is not None
        assert len(chat.buttons) == len(chat.faq.matcher(uow.faq).entries)
    assert "faq:approval-time" in chat.buttons
    replies = chat.press("faq:legality")
    assert "运营商" in replies[0].text
    assert "姓名" in replies[-1].text
    (refused,) = chat.press("faq:no-such-entry")
    assert refused.toast and "已经失效" in refused.text


def test_a_question_handed_to_a_person_is_answered_by_staff(chat: Harness) -> None:
    chat.start_as("individual")
    ask = ask_person_button(chat.text("你们公司在哪个城市？"))
    replies = chat.press(ask)
    to_group = [r for r in replies if r.chat_id == SUPPORT_CHAT]
    assert len(to_group) == 1 and "#Q1" in to_group[0].text and "哪个城市" in to_group[0].text
    assert "客服" in next(r for r in replies if r.chat_id == APPLICANT).text
    assert "失效" in chat.press(ask)[0].text  # a second tap does not send it twice

    grant_staff(chat)
    staff = chat.user.__class__(STAFF_MEMBER, SUPPORT_CHAT, "zh")
    chat.user = staff
    replies = chat.send(GroupReply(to_group[0].text, "我们在深圳 <b>总部</b>"))
    to_applicant = [r for r in replies if r.chat_id == APPLICANT]
    assert "我们在深圳 &lt;b&gt;总部&lt;/b&gt;" in to_applicant[0].text
    assert "姓名" in to_applicant[-1].text
    assert [r.chat_id for r in replies][-1] == SUPPORT_CHAT


def test_a_support_reply_from_someone_who_is_not_staff_is_not_relayed(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.press(ask_person_button(chat.text("你们公司在哪个城市？")))
    question = next(r for r in replies if r.chat_id == SUPPORT_CHAT)
    chat.user = chat.user.__class__(4242, SUPPORT_CHAT, "zh")
    replies = chat.send(GroupReply(question.text, "spam"))
    assert [r.chat_id for r in replies] == [SUPPORT_CHAT]
    assert "客服人员" in replies[0].text


def test_someone_elses_ask_a_person_button_is_refused(chat: Harness) -> None:
    chat.start_as("individual")
    ask = ask_person_button(chat.text("你们公司在哪个城市？"))
    chat.as_user(2002)
    chat.command("start")
    chat.press("consent:yes")
    replies = chat.press(ask)
    assert all(r.chat_id != SUPPORT_CHAT for r in replies)


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("faqadmin", ""),
        ("unanswered", ""),
        ("grant", "5 staff"),
        ("revoke", "5 staff"),
        ("roles", ""),
    ],
)
def test_staff_and_admin_commands_are_refused_to_everyone_else(
    chat: Harness, command: str, args: str
) -> None:
    chat.start_as("individual")
    replies = chat.command(command, args)
    assert "只对有相应权限" in replies[0].text
    with chat.unit_of_work() as uow:
        assert uow.roles.all_roles() == []


@pytest.mark.parametrize(
    "data",
    [
        "fa:list",
        "fa:e:approval-time",
        "fa:a:approval-time:zh",
        "fa:pub",
        "fa:h:legality",
        "fa:r:legality:1",
        "fa:new",
        "ua:d:1",
        "ua:t:1:legality",
    ],
)
def test_forged_staff_buttons_are_refused(chat: Harness, data: str) -> None:
    chat.start_as("individual")
    before = len(chat.db.faq_revisions)
    replies = chat.press(data)
    assert "只对有相应权限" in replies[0].text
    assert len(chat.db.faq_revisions) == before


def test_admin_grants_lists_and_revokes_roles(chat: Harness) -> None:
    chat.as_user(ADMIN)
    assert "已授予" in chat.command("grant", "5 reviewer")[0].text
    assert "无需更改" in chat.command("grant", "5 reviewer")[0].text
    assert "5 · reviewer" in chat.command("roles")[0].text
    assert "用法" in chat.command("grant", "five staff")[0].text
    assert "已撤销" in chat.command("revoke", "5 reviewer")[0].text
    with chat.unit_of_work() as uow:
        assert uow.roles.all_roles() == []


def test_staff_replace_an_answer_after_a_preview(chat: Harness) -> None:
    grant_staff(chat)
    chat.command("faqadmin")
    chat.press("fa:e:legality")
    chat.press("fa:a:legality:zh")
    replies = chat.text("新的回答：请向<b>运营商</b>核实。")
    assert "预览" in replies[0].text
    assert replies[1].text == "新的回答：请向<b>运营商</b>核实。"
    assert chat.buttons == ["fa:pub", "fa:drop"]
    before = len(chat.db.faq_revisions)
    chat.press("fa:pub")
    assert len(chat.db.faq_revisions) == before + 1
    assert chat.db.faq_revisions[-1].author_id == STAFF_MEMBER

    chat.as_user(APPLICANT)
    chat.start_as("individual")
    replies = chat.text("电销卡怎么判断是不是正规的")
    assert replies[0].text == "新的回答：请向<b>运营商</b>核实。"


def test_an_answer_that_does_not_render_is_refused_and_nothing_changes(chat: Harness) -> None:
    grant_staff(chat)
    chat.press("fa:a:legality:en")
    before = list(chat.db.faq_revisions)
    replies = chat.text("Hello {{ nobody.knows }")
    assert "cannot be published" in replies[0].text or "无法发布" in replies[0].text
    replies = chat.text("Hello {{ undefined_variable }}")
    assert "无法发布" in replies[0].text
    (refused,) = chat.press("fa:pub")
    assert refused.toast and "已经失效" in refused.text
    assert chat.db.faq_revisions == before


def test_staff_add_a_question_variant_that_then_matches(chat: Harness) -> None:
    question = "能不能用公司座机号码来接收通知"
    chat.start_as("individual")
    with chat.unit_of_work() as uow:
        assert chat.faq is not None
        assert chat.faq.matcher(uow.faq).match(question).entry_id != "check-status"
    grant_staff(chat)
    chat.press("fa:q:check-status:zh")
    replies = chat.text(question)
    assert "已为" in replies[0].text
    with chat.unit_of_work() as uow:
        assert chat.faq is not None
        assert chat.faq.matcher(uow.faq).match(question).entry_id == "check-status"


def test_staff_add_a_new_entry_in_both_languages(chat: Harness) -> None:
    grant_staff(chat)
    chat.press("fa:new")
    assert "id" in chat.text("Bad Id!")[0].text
    chat.text("payment-methods")
    chat.text("可以用什么方式付款？")
    chat.text("How can I pay?")
    chat.text("支持银行转账。")
    replies = chat.text("Bank transfer is accepted.")
    assert "预览" in replies[0].text
    chat.press("fa:pub")
    with chat.unit_of_work() as uow:
        assert chat.faq is not None
        entries = chat.faq.matcher(uow.faq).entries
        assert entries["payment-methods"].answers == {
            "zh": "支持银行转账。",
            "en": "Bank transfer is accepted.",
        }


def test_staff_see_the_history_and_roll_back(chat: Harness) -> None:
    grant_staff(chat)
    chat.press("fa:a:legality:zh")
    chat.text("第二版回答")
    chat.press("fa:pub")
    replies = chat.press("fa:h:legality")
    assert "r1" in replies[0].text and "r2" in replies[0].text
    assert "fa:r:legality:1" in chat.buttons
    chat.press("fa:r:legality:1")
    with chat.unit_of_work() as uow:
        assert chat.faq is not None
        entry = chat.faq.matcher(uow.faq).entries["legality"]
        assert entry.answers["zh"] != "第二版回答"
        assert [r.note for r in uow.faq.history("legality")][-1] == "rollback to r1"


def test_staff_attach_or_dismiss_unanswered_questions(chat: Harness) -> None:
    chat.start_as("individual")
    for _ in range(2):
        chat.send(Text("可以开发票吗？"))
    chat.send(Text("你们是哪家公司？"))
    grant_staff(chat)
    replies = chat.command("unanswered")
    assert "×2" in replies[0].text
    first = chat.db.unanswered[1]
    chat.press(f"ua:a:{first.id}")
    assert f"ua:t:{first.id}:legality" in chat.buttons
    chat.press(f"ua:t:{first.id}:approval-speed")
    chat.press("ua:d:2")
    assert "目前没有" in chat.command("unanswered")[0].text
    assert "已经处理过" in chat.press(f"ua:t:{first.id}:legality")[0].text
    with chat.unit_of_work() as uow:
        assert chat.faq is not None
        assert chat.faq.matcher(uow.faq).match("可以开发票吗？").entry_id == "approval-speed"


def test_cancel_drops_a_staff_edit(chat: Harness) -> None:
    grant_staff(chat)
    chat.press("fa:a:legality:zh")
    assert "放弃" in chat.command("cancel")[0].text
    replies = chat.text("审批要多久")
    assert "3–10" in replies[0].text  # typed text is a question again, not an answer draft


def test_revoking_staff_ends_an_edit_in_progress(chat: Harness) -> None:
    grant_staff(chat)
    chat.press("fa:a:legality:zh")
    chat.as_user(ADMIN)
    chat.command("revoke", f"{STAFF_MEMBER} staff")
    chat.as_user(STAFF_MEMBER)
    before = list(chat.db.faq_revisions)
    chat.text("hijacked answer")
    assert chat.press("fa:pub")[0].text.startswith("⛔")
    assert chat.db.faq_revisions == before


@pytest.mark.parametrize("data", ["human:99999999999999999999999", "human:²", "human:-1"])
def test_forged_ask_a_person_buttons_change_nothing(chat: Harness, data: str) -> None:
    chat.start_as("individual")
    replies = chat.press(data)
    assert "失效" in replies[0].text
    assert chat.db.tickets == {}


@pytest.mark.parametrize("args", ["² staff", "99999999999999999999999 staff", "5", "5 emperor"])
def test_malformed_role_commands_explain_the_usage(chat: Harness, args: str) -> None:
    chat.as_user(ADMIN)
    assert "用法" in chat.command("grant", args)[0].text


def test_a_question_that_would_pass_as_an_answer_is_not_stored_without_asking(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    replies = chat.text("你们公司在哪里办公")
    assert "不太确定" in replies[0].text
    assert "nav:accept:full_name" in [d for r in replies for row in r.buttons for _l, d in row]
    assert chat.state == "full_name"
    assert chat.applicant.application is not None
    assert "full_name" not in chat.applicant.application.answers


def test_an_answer_that_reads_like_a_question_is_taken_with_one_tap(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    replies = chat.text("How Fast Logistics Ltd")
    assert chat.state == "company_name"
    accept = "nav:accept:company_name"
    assert accept in [d for r in replies for row in r.buttons for _l, d in row]
    chat.press(accept)
    assert chat.state == "uscc"
    assert chat.applicant.application is not None
    assert chat.applicant.application.answers["company_name"] == "How Fast Logistics Ltd"
    assert "失效" in chat.press(accept)[0].text


def test_a_name_with_a_question_character_is_an_answer(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("哪吒合规科技有限公司")
    assert chat.state == "uscc"


def test_unanswered_questions_keep_no_numbers_and_nothing_before_consent(chat: Harness) -> None:
    chat.command("start")
    chat.text("这个 11010519491231002X 要填在哪里？")
    with chat.unit_of_work() as uow:
        assert uow.faq.unanswered(10) == []
    chat.press("consent:yes")
    chat.text("我的号码 13800138000 可以用吗？")
    with chat.unit_of_work() as uow:
        assert [q.question for q in uow.faq.unanswered(10)] == ["我的号码 # 可以用吗?"]


def test_support_questions_per_applicant_are_limited(chat: Harness) -> None:
    chat.start_as("individual")
    for number in range(6):
        replies = chat.text(f"第{number}个奇怪的问题：你们办公室有猫吗？")
        replies = chat.press(ask_person_button(replies))
    assert "今天已经转给客服 5 个问题" in replies[0].text
    assert len(chat.db.tickets) == 5


def test_a_faq_file_changed_after_staff_edits_keeps_the_staff_answer(chat: Harness) -> None:
    assert chat.faq is not None
    grant_staff(chat)
    chat.press("fa:a:legality:zh")
    chat.text("员工写的回答")
    chat.press("fa:pub")
    with chat.unit_of_work() as uow:
        current = chat.faq.matcher(uow.faq).entries["legality"]
        changed = current.with_question("zh", "文件里新加的问法")
        changed = type(changed)(changed.id, changed.questions, {"zh": "文件回答", "en": "file"})
        assert chat.faq.seed(uow.faq, [changed]) == 1
        assert chat.faq.seed(uow.faq, [changed]) == 0  # unchanged file: nothing new
        merged = chat.faq.matcher(uow.faq).entries["legality"]
    assert merged.answers["zh"] == "员工写的回答"
    assert "文件里新加的问法" in merged.questions["zh"]


# -- staff and reviewers writing to the bot privately -----------------------------------------


def grant(chat: Harness, user_id: int, role: str) -> None:
    with chat.unit_of_work() as uow:
        uow.roles.grant(user_id, role, None)
        uow.commit()
    chat.as_user(user_id)


def test_a_reviewer_writing_privately_gets_reviewer_help_not_the_consent(chat: Harness) -> None:
    grant(chat, 7, "reviewer")
    for event in (Command("queue"), Command("help"), Text("hello"), Command("start")):
        (reply,) = chat.send(event)
        assert reply.text.startswith("🧑\u200d💼 <b>工作人员帮助</b>"), event
        assert "/queue — 待处理的申请" in reply.text, event
        assert "个人信息" not in reply.text and "/faqadmin" not in reply.text, event
        assert chat.buttons == ["nav:apply"], event
    assert chat.send(Command("queue"))[0].text.splitlines()[1] == (
        "/queue 请在审核群里使用（审核群尚未设置，请联系管理员），在私聊里不起作用。"
    )
    with chat.unit_of_work() as uow:
        stored = uow.load_applicant(7)
    assert stored is not None and stored.state == "new" and stored.consent_at is None


def test_a_staff_member_refused_an_admin_command_gets_staff_help(chat: Harness) -> None:
    grant(chat, STAFF_MEMBER, "staff")
    not_allowed, help_ = chat.command("grant", "5 reviewer")
    assert not_allowed.text == "⛔ 抱歉，这个操作只对有相应权限的工作人员开放。"
    assert "/faqadmin — 查看和修改常见问题的回答" in help_.text
    assert "在客服群里回复申请人转来的问题" in help_.text
    assert "/grant" not in help_.text and "同意" not in help_.text


def test_staff_may_still_choose_to_apply(chat: Harness) -> None:
    grant(chat, STAFF_MEMBER, "staff")
    chat.command("start")
    welcome, _consent = chat.tap("我要申请")
    assert welcome.text.startswith("👋")
    assert chat.buttons == ["consent:yes", "consent:no"]
    chat.press("consent:yes")
    assert chat.state == "category"


def test_a_reviewer_applying_sees_both_helps_and_keeps_their_place(chat: Harness) -> None:
    grant(chat, 7, "reviewer")
    chat.command("start")
    chat.tap("我要申请")
    chat.press("consent:yes")
    chat.press("cat:individual")
    applicant_help, reviewer_help, prompt = chat.command("help")
    assert "/status" in applicant_help.text
    assert "/queue" in reviewer_help.text and reviewer_help.buttons == []
    assert "姓名" in prompt.text
    reviewer_help, prompt = chat.command("queue")
    assert "/queue 请在审核群里使用" in reviewer_help.text
    assert chat.state == "full_name"


def test_an_admin_sees_every_desk_in_english(chat: Harness) -> None:
    chat.as_user(ADMIN, language_code="en")
    (reply,) = chat.text("hi")
    for part in ("<b>Review</b>", "/unanswered", "/grant USER_ID staff or reviewer"):
        assert part in reply.text, part


def test_faq_history_is_shown_in_china_time(chat: Harness) -> None:
    grant_staff(chat)
    chat.press("fa:a:legality:zh")
    chat.text("第二版回答")
    chat.press("fa:pub")
    (history,) = chat.press("fa:h:legality")
    # The harness clock stands at 2026-11-30 09:00 UTC: 17:00 in Beijing.
    assert "r2 · 2026-11-30 17:00 · 9002 · answer zh" in history.text
    assert "09:00" not in history.text


def test_a_reviewer_switching_language_gets_reviewer_help_in_that_language(
    chat: Harness,
) -> None:
    grant(chat, 7, "reviewer")
    chat.command("lang")
    _language_set, help_ = chat.press("lang:en")
    assert help_.text.startswith("🧑\u200d💼 <b>Staff help</b>")
    assert chat.buttons == ["nav:apply"]


def staff_answers(
    chat: Harness, group_message: RenderedMessage, answer: str
) -> list[RenderedMessage]:
    """A staff member replies in the support group to the bot's message there."""
    grant_staff(chat)
    chat.user = chat.user.__class__(STAFF_MEMBER, SUPPORT_CHAT, "zh")
    return chat.send(GroupReply(group_message.text, answer))


def to_support(replies: list[RenderedMessage]) -> list[RenderedMessage]:
    return [r for r in replies if r.chat_id == SUPPORT_CHAT]


@pytest.mark.parametrize(
    "request_text",
    ["我要活人", "别说了，叫个人来", "跟你说不明白", "我想找人工客服", "转人工"],
)
def test_asking_for_a_person_in_words_mid_application_opens_a_ticket(
    chat: Harness, request_text: str
) -> None:
    chat.start_as("individual")
    replies = chat.text(request_text)
    (question,) = to_support(replies)
    assert "#Q1" in question.text and request_text in question.text
    assert "转给客服" in next(r for r in replies if r.chat_id == APPLICANT).text
    assert "姓名" in replies[-1].text
    assert chat.state == "full_name"
    assert (chat.applicant.application.answers if chat.applicant.application else {}) == {}


@pytest.mark.parametrize(
    "request_text",
    ["I want to talk to a person", "human please", "get me a real person", "operator"],
)
def test_asking_for_a_person_in_english_opens_a_ticket(chat: Harness, request_text: str) -> None:
    chat.as_user(APPLICANT, "en")
    chat.command("start")
    chat.tap("agree")
    (question,) = to_support(chat.text(request_text))
    assert request_text in question.text


def test_a_person_request_after_an_unanswered_question_carries_the_question(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text("你们公司在哪个城市？")
    (question,) = to_support(chat.text("我要活人"))
    assert "哪个城市" in question.text and "我要活人" in question.text


def test_the_details_after_a_person_request_join_the_same_ticket(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("转人工")
    (follow_up,) = to_support(chat.text("我想问一下周末能不能办？"))
    assert "#Q1" in follow_up.text and "周末" in follow_up.text
    with chat.unit_of_work() as uow:
        assert uow.support.count_recent(APPLICANT, datetime(2000, 1, 1, tzinfo=UTC)) == 1


def test_the_hotline_of_another_operator_is_not_a_request_for_a_person(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.text("10086热线人工服务几点开始？")
    assert to_support(replies) == []
    assert "不太确定" in replies[0].text


def test_a_reply_to_a_staff_answer_goes_to_the_same_ticket_not_the_faq(chat: Harness) -> None:
    chat.start_as("individual")
    ask = ask_person_button(chat.text("你们公司在哪个城市？"))
    (question,) = to_support(chat.press(ask))
    staff_answers(chat, question, "在深圳")
    chat.as_user(APPLICANT)
    replies = chat.text("审批要多久？")  # would be an FAQ question, but it answers staff
    (follow_up,) = to_support(replies)
    assert "#Q1" in follow_up.text and "审批要多久" in follow_up.text
    assert "3–10" not in replies[0].text
    with chat.unit_of_work() as uow:
        ticket = uow.support.ticket(1)
        assert ticket is not None and ticket.status == "sent"
    relayed = staff_answers(chat, follow_up, "一般 3 到 10 个工作日")
    assert any("一般 3 到 10 个工作日" in r.text for r in relayed if r.chat_id == APPLICANT)


def test_a_valid_answer_after_a_staff_answer_is_the_steps_answer(chat: Harness) -> None:
    chat.start_as("individual")
    ask = ask_person_button(chat.text("你们公司在哪个城市？"))
    (question,) = to_support(chat.press(ask))
    staff_answers(chat, question, "在深圳")
    chat.as_user(APPLICANT)
    assert to_support(chat.text("张三")) == []
    assert chat.state == "id_type"


def test_follow_ups_without_a_staff_answer_are_limited(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("转人工")
    sent = [to_support(chat.text(f"第{n}个补充问题？")) for n in range(5)]
    assert [len(s) for s in sent] == [1, 1, 1, 0, 0]


@pytest.mark.parametrize(
    ("language", "request_text", "honest", "promise"),
    [
        ("zh", "转人工", "目前没有在线人工客服", "联系客服"),
        ("en", "I want to talk to a person", "no live support", "contact support"),
    ],
)
def test_without_a_support_team_asking_for_a_person_promises_no_button(
    tmp_path: Path, language: str, request_text: str, honest: str, promise: str
) -> None:
    chat = Harness(tmp_path, with_faq=True)  # no support group configured
    chat.as_user(APPLICANT, language)
    chat.start_as("individual")
    replies = chat.text(request_text)
    answer = next(r for r in replies if r.chat_id == APPLICANT)
    assert honest in answer.text and promise not in answer.text
    assert not any(
        data.startswith("human:") for r in replies for row in r.buttons for _, data in row
    )
    assert chat.state == "full_name"  # and the application goes on where it was
    assert (chat.applicant.application.answers if chat.applicant.application else {}) == {}


@pytest.mark.parametrize(
    ("language", "text", "answered"),
    [
        ("zh", "审核进度", "/status"),
        ("zh", "材料清单", "企业"),
        ("en", "documents needed", "Enterprise"),
    ],
)
def test_a_question_the_faq_is_sure_of_is_not_taken_as_a_name(
    tmp_path: Path, language: str, text: str, answered: str
) -> None:
    chat = Harness(tmp_path, with_faq=True)
    chat.as_user(APPLICANT, language)
    chat.start_as("individual")
    replies = chat.text(text)  # no question word, and it would pass as a name
    assert answered in replies[0].text
    assert chat.state == "full_name"
    assert (chat.applicant.application.answers if chat.applicant.application else {}) == {}
    accept = [data for r in replies for row in r.buttons for _, data in row if "accept" in data]
    chat.press(accept[0])  # it was the name after all: one tap takes it
    assert chat.applicant.application is not None
    assert chat.applicant.application.answers["full_name"] == text
