"""The applicant conversation: every step, its checks and re-asks, and the navigation."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cardbot.content.render import RenderedMessage
from cardbot.core.events import Command, Incoming, Text, Unsupported
from cardbot.core.replies import decode_reply
from tests.support import files
from tests.support.fakes import deliver_outbox
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE, VALID_USCC, Harness


def complete_enterprise(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("Acme Trading Co., Ltd.")
    chat.text(VALID_USCC)
    chat.text("500")
    chat.upload(files.photo(seed=1), group="album-1")
    chat.upload(files.photo(seed=2), group="album-1")
    chat.upload(files.pdf())
    chat.upload(files.photo(seed=3, fmt="PNG"))


def test_first_message_shows_welcome_and_asks_for_consent_in_chinese(chat: Harness) -> None:
    replies = chat.command("start")
    assert replies[0].text.startswith("👋")
    assert "个人信息" in replies[-1].text
    assert chat.buttons == ["consent:yes", "consent:no"]
    assert chat.state == "consent"


def test_english_telegram_users_are_greeted_in_english(chat: Harness) -> None:
    chat.user = chat.user.__class__(chat.user.user_id, chat.user.chat_id, "en-GB")
    replies = chat.command("start")
    assert "Hello" in replies[0].text
    assert "personal information" in replies[-1].text


def test_declining_consent_stores_nothing(chat: Harness) -> None:
    chat.command("start")
    replies = chat.press("consent:no")
    assert chat.db.applicants == {}
    assert "没有保存" in replies[-1].text
    assert chat.buttons == ["nav:start"]


def test_nothing_is_collected_before_consent(chat: Harness) -> None:
    chat.command("start")
    chat.text(VALID_ID)
    chat.upload(files.photo())
    assert chat.state == "consent"
    assert chat.applicant.application is None
    assert chat.documents.blobs == {}


def test_enterprise_application_is_submitted_with_a_number(chat: Harness) -> None:
    complete_enterprise(chat)
    assert chat.state == "summary"
    assert "nav:submit" in chat.buttons
    replies = chat.tap("确认提交")
    app = chat.applicant.application
    assert app is not None
    assert app.status == "submitted"
    assert app.number == "DX-2026-000001"
    assert "DX-2026-000001" in replies[-1].text
    assert set(app.documents) == {"id_front", "id_back", "business_license", "tax_registration"}
    assert app.answers == {
        "full_name": "张三",
        "id_type": "resident_id",
        "id_number": VALID_ID,
        "phone": "+86" + VALID_PHONE,
        "company_name": "Acme Trading Co., Ltd.",
        "uscc": VALID_USCC,
        "daily_call_volume": "500",
    }


def test_application_numbers_increase(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chat = Harness(tmp_path)
    complete_enterprise(chat)
    chat.press("nav:submit")
    chat.user = chat.user.__class__(2002, 2002, "zh")
    complete_enterprise(chat)
    chat.press("nav:submit")
    assert chat.applicant.application is not None
    assert chat.applicant.application.number == "DX-2026-000002"


def test_individual_with_passport_needs_only_identity(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity(passport=True)
    assert chat.state == "passport_page"
    chat.upload(files.pdf())
    assert chat.state == "summary"
    chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.status == "submitted"
    assert set(app.documents) == {"passport"}
    assert "company_name" not in app.answers


def test_small_business_may_skip_tax_registration(chat: Harness) -> None:
    chat.start_as("small_business")
    chat.fill_identity()
    chat.text("小明便利店")
    chat.text(VALID_USCC)
    assert chat.state == "id_card"
    chat.upload(files.photo(seed=1))
    chat.upload(files.photo(seed=2))
    chat.upload(files.photo(seed=3))
    assert chat.state == "tax_registration"
    chat.tap("跳过")
    assert chat.state == "summary"
    chat.press("nav:submit")
    assert chat.applicant.application is not None
    assert chat.applicant.application.status == "submitted"


def test_enterprise_cannot_skip_tax_registration(chat: Harness) -> None:
    complete_enterprise(chat)
    chat.press("edit:tax_registration")
    assert "nav:skip" not in chat.buttons
    chat.press("nav:skip")
    assert chat.state == "tax_registration"


def test_bad_id_number_is_explained_and_asked_again(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    replies = chat.text("110105194912310021")
    assert "校验码" in replies[-1].text
    assert chat.state == "id_number"
    assert "id_number" not in (
        chat.applicant.application.answers if chat.applicant.application else {}
    )
    chat.text(VALID_ID)
    assert chat.state == "phone"


def test_underage_applicant_is_refused(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("李四")
    chat.press("pick:id_type:resident_id")
    replies = chat.text("110105201001010010")
    assert "18" in replies[-1].text
    assert chat.state == "id_number"


def test_each_text_step_re_asks_on_bad_input(chat: Harness) -> None:
    chat.start_as("enterprise")
    cases = [
        ("full_name", "<b>1234</b>", "张三"),
        ("id_number", "12345", VALID_ID),
        ("phone", "12345", VALID_PHONE),
        ("company_name", "!!!", "Acme Ltd"),
        ("uscc", "91350100M000100Y44", VALID_USCC),
        ("daily_call_volume", "lots", "800"),
    ]
    for step, bad, good in cases:
        if chat.state == "id_type":
            chat.press("pick:id_type:resident_id")
        assert chat.state == step
        before = chat.applicant.application.answers.copy() if chat.applicant.application else {}
        chat.text(bad)
        assert chat.state == step, step
        assert (chat.applicant.application.answers if chat.applicant.application else {}) == before
        chat.text(good)
        assert chat.state != step


def test_photo_where_a_number_was_asked_is_refused_kindly(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    replies = chat.upload(files.photo())
    assert "还不需要文件" in replies[-1].text
    assert chat.state == "id_number"
    assert chat.documents.blobs == {}


def test_text_where_a_file_was_asked_is_refused_kindly(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    replies = chat.text("here is my id")
    assert "需要您发送<b>身份证人像面（正面）</b>的照片或文件" in replies[-1].text
    assert chat.state == "id_card"


def test_bad_files_are_refused_and_change_nothing(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    bad = {
        "image_unreadable": files.truncated_photo(),
        "image_too_small": files.tiny_photo(),
        "image_blank": files.blank_photo(),
        "unsupported_file_type": files.windows_executable(),
        "pdf_encrypted": files.encrypted_pdf(),
        "pdf_unreadable": files.broken_pdf(),
        "file_empty": b"",
    }
    for problem, data in bad.items():
        replies = chat.upload(data)
        expected = chat.renderer.render_text(f"problems/{problem}", "zh", {})
        assert replies[-1].text == expected, problem
        assert chat.state == "id_card"
        assert chat.applicant.application is not None
        assert chat.applicant.application.documents == {}
    assert chat.documents.blobs == {}


def test_album_fills_both_sides_of_the_id_card_and_is_acknowledged_once(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    first = chat.upload(files.photo(seed=1), group="g1")
    second = chat.upload(files.photo(seed=2), group="g1")
    assert first == []
    assert chat.state == "summary"
    (reply,) = second
    assert reply.text.splitlines()[:3] == [
        "✅ 身份证人像面（正面）、身份证国徽面（背面）已收到。",
        "",
        "📋 <b>申请汇总</b>（👤 个人）",
    ]
    app = chat.applicant.application
    assert app is not None and set(app.documents) == {"id_front", "id_back"}


def test_single_photos_are_asked_for_one_side_at_a_time(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    replies = chat.upload(files.photo(seed=1))
    assert "国徽面" in replies[-1].text
    assert "(2/2)" in replies[-1].text or "（2/2）" in replies[-1].text


def test_extra_album_photos_are_not_taken_for_the_next_document(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("Acme Ltd")
    chat.text(VALID_USCC)
    chat.text("100")
    for seed in (1, 2, 3):
        chat.upload(files.photo(seed=seed), group="g3")
    assert chat.state == "business_license"
    assert chat.applicant.application is not None
    assert "business_license" not in chat.applicant.application.documents
    assert "多出的照片" in chat.last.text if chat.last else False


def test_same_file_for_two_documents_is_refused(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1))
    replies = chat.upload(files.photo(seed=1))
    assert "已经用作另一份材料" in replies[-1].text
    assert chat.state == "id_card"


def test_back_returns_to_the_previous_question_and_keeps_answers(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    chat.tap("上一步")
    assert chat.state == "id_type"
    chat.tap("上一步")
    assert chat.state == "full_name"
    assert "张三" in (chat.last.text if chat.last else "")
    chat.tap("保持不变")
    assert chat.state == "id_number"


def test_back_from_the_first_question_returns_to_the_category(chat: Harness) -> None:
    chat.start_as("individual")
    chat.tap("上一步")
    assert chat.state == "category"
    chat.command("back")
    assert chat.state == "category"


def test_after_going_back_the_applicant_returns_to_where_they_were(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    assert chat.state == "id_card"
    chat.tap("上一步")
    chat.tap("上一步")
    assert chat.state == "id_number"
    chat.text(VALID_ID)
    assert chat.state == "id_card"


def test_summary_edit_changes_one_item_and_returns_to_summary(chat: Harness) -> None:
    complete_enterprise(chat)
    chat.press("nav:edit")
    assert "edit:phone" in chat.buttons
    chat.press("edit:phone")
    assert chat.state == "phone"
    chat.text("+44 20 7946 0958")
    assert chat.state == "summary"
    assert chat.applicant.application is not None
    assert chat.applicant.application.answers["phone"] == "+442079460958"


def test_changing_id_type_from_summary_asks_for_the_new_documents(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1), group="g")
    chat.upload(files.photo(seed=2), group="g")
    chat.press("edit:id_type")
    chat.press("pick:id_type:passport")
    assert chat.state == "id_number"
    chat.text("E12345678")
    assert chat.state == "passport_page"
    chat.upload(files.pdf())
    chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.status == "submitted"
    assert set(app.documents) == {"passport"}
    assert len(chat.documents.blobs) == 1


def test_replacing_a_document_keeps_the_other_side(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1))
    chat.upload(files.photo(seed=2))
    app = chat.applicant.application
    assert app is not None
    old_back = app.documents["id_back"].storage_key
    chat.press("edit:id_card")
    chat.upload(files.photo(seed=5))
    chat.tap("保持不变")
    assert chat.state == "summary"
    app = chat.applicant.application
    assert app is not None
    assert app.documents["id_back"].storage_key == old_back
    assert len(chat.documents.blobs) == 2


def test_summary_lists_everything_given_so_far(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    replies = chat.command("summary")
    assert chat.state == "summary"
    text = replies[-1].text
    assert "张三" in text and "1101**********002X" in text and VALID_ID not in text
    assert "未填写" in text
    assert "nav:continue" in chat.buttons
    chat.press("nav:continue")
    assert chat.state == "company_name"


def test_incomplete_package_cannot_be_submitted(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.command("summary")
    replies = chat.press("nav:submit")
    assert chat.state == "summary"
    assert "不能提交" in replies[-1].text
    assert "公司名称" in replies[-1].text and "营业执照" in replies[-1].text


def test_cancel_asks_first_then_deletes_the_draft(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1))
    chat.command("cancel")
    assert chat.buttons == ["nav:cancel_yes", "nav:cancel_no"]
    chat.press("nav:cancel_no")
    assert chat.state == "id_card"
    chat.command("cancel")
    chat.press("nav:cancel_yes")
    assert chat.state == "idle"
    assert chat.applicant.application is None
    assert chat.documents.blobs == {}
    chat.command("start")
    assert chat.state == "category"


def test_resume_repeats_the_current_question(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    replies = chat.command("start")
    assert "欢迎回来" in replies[0].text
    assert "证件类型" in replies[-1].text
    assert chat.state == "id_type"


def test_same_delivery_twice_is_applied_once(chat: Harness) -> None:
    chat.start_as("individual")

    first = chat.send(Text("张三"), key="tg:77")
    assert chat.delivered == chat.sent, "every reply went through the outbox"
    again = chat.send(Text("王五"), key="tg:77")
    assert "证件类型" in first[-1].text
    assert again == [] and chat.delivered == [], "what was sent is not sent again"
    assert chat.state == "id_type"
    assert chat.applicant.application is not None
    assert chat.applicant.application.answers["full_name"] == "张三"


def test_forged_and_stale_buttons_change_nothing(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    before = chat.applicant
    for data in [
        "pick:id_type:alien",
        "pick:phone:x",
        "cat:enterprise",
        "consent:yes",
        "edit:full_name",
        "nav:submit",
        "nav:skip",
        "x" * 64,
        "",
        "lang:fr",
        "nav:keep",
    ]:
        replies = chat.press(data)
        assert replies, data
        assert chat.applicant == before, data


def test_stickers_voice_and_other_messages_get_a_kind_answer(chat: Harness) -> None:
    chat.start_as("individual")
    for kind in ("sticker", "voice", "location", "contact", "poll", "other", "novel"):
        replies = chat.send(Unsupported(kind))
        assert "抱歉" in replies[-1].text
        assert chat.state == "full_name"


def test_html_in_answers_is_escaped_in_every_message(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("Tom & Jerry's O'Neil Trading")
    replies = chat.command("summary")
    assert "Tom &amp; Jerry&#39;s O&#39;Neil Trading" in replies[-1].text


def test_long_messages_are_refused_without_change(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.text("名" * 4096)
    assert "太长" in replies[-1].text
    assert chat.state == "full_name"


def test_lang_switches_to_english_and_repeats_the_question(chat: Harness) -> None:
    chat.start_as("individual")
    chat.command("lang")
    replies = chat.press("lang:en")
    assert chat.applicant.language == "en"
    assert "full name" in replies[-1].text


def test_status_shows_progress_then_the_number(chat: Harness) -> None:
    replies = chat.command("status")
    assert chat.state == "consent"
    chat.press("consent:yes")
    replies = chat.command("status")
    assert "还没有申请" in replies[0].text
    chat.press("cat:individual")
    chat.fill_identity()
    replies = chat.command("status")
    assert "填写中" in replies[0].text and "4 / 5" in replies[0].text
    chat.upload(files.photo(seed=1), group="g")
    chat.upload(files.photo(seed=2), group="g")
    chat.press("nav:submit")
    replies = chat.command("status")
    assert "DX-2026-000001" in replies[0].text and "已提交" in replies[0].text


def test_help_lists_commands_and_repeats_the_question(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.command("help")
    assert "/status" in replies[0].text and "/cancel" in replies[0].text
    assert "姓名" in replies[-1].text


def test_unknown_command_points_to_help(chat: Harness) -> None:
    chat.start_as("individual")
    replies = chat.command("frobnicate")
    assert "/help" in replies[0].text
    assert chat.state == "full_name"


def test_text_after_submission_points_to_status(chat: Harness) -> None:
    complete_enterprise(chat)
    chat.press("nav:submit")
    replies = chat.text("hello?")
    assert "DX-2026-000001" in replies[-1].text
    replies = chat.command("start")
    assert "DX-2026-000001" in replies[-1].text


def test_every_message_offers_a_way_forward(chat: Harness) -> None:
    complete_enterprise(chat)
    assert chat.buttons
    chat.press("nav:edit")
    assert "nav:summary" in chat.buttons
    chat.press("nav:summary")
    assert chat.state == "summary"
    assert "nav:submit" in chat.buttons


def test_text_where_a_button_is_expected_shows_the_buttons_again(chat: Harness) -> None:
    chat.command("start")
    replies = chat.text("yes please")
    assert "按钮" in replies[0].text
    assert chat.buttons == ["consent:yes", "consent:no"]
    chat.press("consent:yes")
    chat.send(Unsupported("sticker"))
    assert chat.buttons == ["cat:enterprise", "cat:small_business", "cat:individual"]
    assert chat.state == "category"


def as_user(chat: Harness, user_id: int) -> None:
    chat.user = chat.user.__class__(user_id, user_id, "zh-hans")


def test_an_id_number_in_another_open_application_is_flagged_for_reviewers_only(
    chat: Harness,
) -> None:
    chat.complete_individual()
    chat.press("nav:submit")
    as_user(chat, 2002)
    chat.complete_individual((5, 6))
    replies = chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.status == "submitted"
    assert [(f.code, f.applications, f.field) for f in app.flags] == [
        ("id_number_in_use", ("DX-2026-000001",), "id_number")
    ]
    assert "DX-2026-000001" not in replies[-1].text


def test_a_flag_names_at_most_ten_other_applications(chat: Harness) -> None:
    for user_id in range(3001, 3013):
        as_user(chat, user_id)
        chat.complete_individual((2 * user_id, 2 * user_id + 1))
        chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.number == "DX-2026-000012"
    (flag,) = app.flags
    assert flag.applications == tuple(f"DX-2026-{n:06d}" for n in range(1, 11))


def test_a_document_in_another_open_application_is_flagged(chat: Harness) -> None:
    chat.complete_individual((1, 2))
    chat.press("nav:submit")
    as_user(chat, 2003)
    chat.start_as("individual")
    chat.text("李四")
    chat.press("pick:id_type:passport")
    chat.text("E99999999")
    chat.text(VALID_PHONE)
    chat.upload(files.photo(seed=1))
    chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None
    assert [(f.code, f.document) for f in app.flags] == [("document_in_use", "passport")]


def test_submission_screens_the_stored_documents_once_more(chat: Harness) -> None:
    chat.complete_individual()
    app = chat.applicant.application
    assert app is not None
    chat.documents.blobs[app.documents["id_back"].storage_key] = files.truncated_photo()
    replies = chat.press("nav:submit")
    assert chat.state == "summary"
    assert "身份证国徽面（背面）：图片无法打开" in replies[-1].text
    assert "nav:edit" in chat.buttons


def test_every_problem_is_listed_at_once_in_english(chat: Harness) -> None:
    chat.user = chat.user.__class__(chat.user.user_id, chat.user.chat_id, "en")
    chat.start_as("enterprise")
    chat.text("Ann Lee")
    chat.command("summary")
    replies = chat.press("nav:submit")
    text = replies[-1].text
    for item in ("ID type", "Phone number", "Company name", "business licence copy"):
        assert item in text, item
    assert text.count("•") == 8  # the identity document follows once the ID type is known


def test_a_skipped_optional_document_is_required_again_after_changing_category(
    chat: Harness,
) -> None:
    chat.start_as("small_business")
    chat.fill_identity()
    chat.text("小明便利店")
    chat.text(VALID_USCC)
    chat.upload(files.photo(seed=1), group="g")
    chat.upload(files.photo(seed=2), group="g")
    chat.upload(files.photo(seed=3))
    chat.press("nav:skip")
    chat.press("edit:category")
    chat.press("cat:enterprise")
    chat.text("300")
    assert chat.state == "tax_registration"
    assert "nav:skip" not in chat.buttons
    chat.command("summary")
    chat.press("nav:submit")
    assert chat.applicant.application is not None
    assert chat.applicant.application.status == "draft"


def test_an_album_whose_first_photo_is_refused_still_asks_for_what_is_missing(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    refused = chat.upload(files.tiny_photo(), group="g")
    accepted = chat.upload(files.photo(seed=1), group="g")
    assert "太小" in refused[-1].text
    assert len(accepted) == 1 and "国徽面" in accepted[-1].text
    assert chat.state == "id_card"


def test_an_old_cancel_confirmation_does_nothing_once_the_applicant_carried_on(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.command("cancel")
    chat.text("张三")
    replies = chat.press("nav:cancel_yes")
    assert "失效" in replies[0].text
    assert chat.state == "id_type"
    assert chat.applicant.application is not None


def test_a_file_after_submission_points_to_the_status(chat: Harness) -> None:
    chat.complete_individual()
    chat.press("nav:submit")
    replies = chat.upload(files.photo(seed=9))
    assert "已提交" in replies[-1].text
    assert len(chat.documents.blobs) == 2


def test_a_conversation_saved_under_older_dialogs_carries_on(
    chat: Harness, tmp_path: Path
) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("Acme Ltd")
    chat.text(VALID_USCC)
    assert chat.state == "daily_call_volume"
    dialogs = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, dialogs)
    flow = dialogs / "flow.yaml"
    text = flow.read_text(encoding="utf-8").replace(" daily_call_volume,", "")
    step = "  daily_call_volume:\n    kind: text\n    validator: daily_call_volume\n"
    flow.write_text(text.replace(step, ""), "utf-8")
    later = Harness(tmp_path, dialogs=dialogs, db=chat.db, documents=chat.documents)
    later.user = chat.user
    replies = later.command("start")
    assert later.state == "id_card"
    assert "身份证照片" in replies[-1].text
    later.upload(files.photo(seed=1), group="g")
    later.upload(files.photo(seed=2), group="g")
    later.upload(files.pdf())
    later.upload(files.photo(seed=3))
    later.press("nav:submit")
    assert later.applicant.application is not None
    assert later.applicant.application.status == "submitted"
    assert "daily_call_volume" not in later.applicant.application.answers


def test_numbers_and_ages_follow_the_date_in_china(tmp_path: Path) -> None:
    # 2026-12-31 17:00 UTC is already 2027-01-01 01:00 in Beijing
    chat = Harness(tmp_path, now=datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    chat.start_as("individual")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    chat.text("110105200901010011")  # 18 on 2027-01-01, still 17 on 2026-12-31
    chat.text(VALID_PHONE)
    chat.upload(files.photo(seed=1), group="g")
    chat.upload(files.photo(seed=2), group="g")
    chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None and app.number == "DX-2027-000001"


def test_a_repeated_delivery_gives_back_only_its_replies_still_waiting(chat: Harness) -> None:
    chat.start_as("individual")
    incoming = Incoming("tg:78", chat.user, Text("张三"))
    first = chat.service.handle(incoming)  # committed; the sender died before sending
    assert [decode_reply(text) for _id, _key, text in chat.db.messages] == first

    again = chat.service.handle(incoming)

    assert again == first, "the waiting replies, not a new question"
    assert chat.state == "id_type" and chat.applicant.application is not None
    assert chat.applicant.application.answers["full_name"] == "张三"
    assert deliver_outbox(chat.db) == first
    assert chat.service.handle(incoming) == [], "once sent, a repeat says nothing"


def test_toasts_stay_out_of_the_outbox(chat: Harness) -> None:
    chat.start_as("individual")
    chat.press("consent:yes")  # an old button: answered by a toast
    assert chat.sent and all(reply.toast for reply in chat.sent)
    assert chat.delivered == []


def test_deliveries_are_remembered_for_a_week_then_forgotten(chat: Harness) -> None:
    chat.send(Command("start"), key="tg:1:500")
    chat.press("consent:yes")
    chat.send(Command("start"), key="tg:1:500")  # a repeat: remembered, not applied again
    assert set(chat.db.processed) >= {"tg:1:500"} and len(chat.db.processed) == 2
    chat.clock.current += timedelta(days=6)
    assert chat.service.forget_old_deliveries() == 0
    chat.clock.current += timedelta(days=2)
    assert chat.service.forget_old_deliveries() == 2
    assert chat.db.processed == {}


# -- old buttons, kept photos, edits, files, submitted applications ---------------------------


def data_of(message: RenderedMessage, label: str) -> str:
    """The callback data of the button whose label contains `label`."""
    return next(data for row in message.buttons for text, data in row if label in text)


def test_an_old_back_button_is_refused_instead_of_moving_back_from_a_later_step(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text("张三")
    (id_number_prompt,) = chat.press("pick:id_type:resident_id")
    chat.text(VALID_ID)
    chat.text(VALID_PHONE)
    assert chat.state == "id_card"
    before = chat.applicant
    replies = chat.press(data_of(id_number_prompt, "上一步"))
    assert [(m.toast, m.text) for m in replies] == [
        (True, "这个按钮属于之前的问题，已经失效，什么也没有改变。请使用最新消息中的按钮。")
    ]
    assert chat.applicant == before


def test_an_old_back_button_still_works_while_its_question_is_the_current_one(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text("张三")
    (id_number_prompt,) = chat.press("pick:id_type:resident_id")
    chat.command("help")  # the question is asked again below the help
    chat.press(data_of(id_number_prompt, "上一步"))
    assert chat.state == "id_type"


def test_step_buttons_carry_the_step_they_were_shown_with(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    assert chat.buttons == ["nav:back:id_number", "nav:summary"]
    chat.press("nav:back:id_number")
    assert chat.buttons == [
        "pick:id_type:resident_id",
        "pick:id_type:passport",
        "nav:keep:id_type",
        "nav:back:id_type",
        "nav:summary",
    ]
    for forged in ("nav:keep", "nav:keep:id_number", "nav:back", "nav:skip:id_type"):
        (refused,) = chat.press(forged)
        assert refused.toast, forged
        assert chat.state == "id_type", forged


def test_the_message_asking_the_next_question_retires_the_buttons_of_the_answered_one(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text("张三")
    assert [(r.template, r.retire, r.tag) for r in chat.sent] == [
        ("steps/id_type", "ask:1001", "ask:1001")
    ]
    chat.text("审批要多久？")  # not answered: asked again, the earlier copy keeps its buttons
    assert [(r.template, r.retire, r.tag) for r in chat.sent] == [
        ("problems/use_buttons", None, "ask:1001")
    ]
    chat.press("nav:back:nowhere")  # a refused button changes nothing, the buttons stay
    assert [(r.template, r.toast, r.retire, r.tag) for r in chat.sent] == [
        ("stale_button", True, None, None)
    ]
    chat.complete_individual()
    chat.press("nav:submit")
    submitted = [(r.template, r.retire, r.tag) for r in chat.sent if r.chat_id == 1001]
    assert submitted == [("submitted", "ask:1001", None)]  # the summary's buttons go, too


def test_a_kept_front_photo_can_be_kept_after_going_back(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1))
    app = chat.applicant.application
    assert app is not None
    front = app.documents["id_front"].storage_key
    chat.tap("上一步")
    chat.tap("上一步")
    assert chat.state == "id_number"
    chat.tap("保持不变")
    assert chat.state == "id_card"
    assert chat.last is not None
    assert "之前收到的<b>身份证人像面（正面）</b>已保留" in chat.last.text
    assert "nav:keep:id_card" in chat.buttons
    (kept,) = chat.tap("沿用已收到的")
    assert kept.text == (
        "✅ 身份证人像面（正面）已保留，无需重新上传。\n"
        "现在请发送：<b>身份证国徽面（背面）</b>（2/2）。"
    )
    assert chat.state == "id_card"
    chat.upload(files.photo(seed=2))
    assert chat.state == "summary"
    app = chat.applicant.application
    assert app is not None
    assert app.documents["id_front"].storage_key == front


def test_a_document_asked_again_by_a_reviewer_cannot_be_kept(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1))
    with chat.unit_of_work() as uow:
        applicant = uow.load_applicant(chat.user.user_id)
        assert applicant is not None and applicant.application is not None
        applicant.application.redo.add("id_card")
        applicant.slot_index = 0
        uow.save_applicant(applicant)
        uow.commit()
    chat.command("start")
    assert "nav:keep:id_card" not in chat.buttons
    (refused,) = chat.press("nav:keep:id_card")
    assert refused.toast


def test_an_edited_message_says_how_to_change_an_answer(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text("张三")
    before = chat.applicant
    (reply,) = chat.send(Unsupported("edited"))
    assert reply.text == (
        "✏️ 修改已经发出的消息不会改变已保存的回答。\n"
        "要改刚才的回答，请点「⬅️ 上一步」或发送 /back，再重新回答；"
        "要改其他项目，请发送 /summary，然后点「✏️ 修改」选择要改的项目。"
    )
    assert chat.buttons[-2:] == ["nav:back:id_type", "nav:summary"]
    assert chat.applicant == before


def test_an_edited_message_after_submission_points_to_the_status(chat: Harness) -> None:
    chat.user = chat.user.__class__(chat.user.user_id, chat.user.chat_id, "en")
    chat.complete_individual()
    chat.press("nav:submit")
    edited, status = chat.send(Unsupported("edited"))
    assert edited.text == (
        "✏️ Editing a message you already sent does not change the answer I saved.\n"
        "Send /status to see where your application stands; a submitted application can be "
        "changed only when a reviewer asks for a resubmission."
    )
    assert "DX-2026-000001" in status.text


def test_each_photo_is_acknowledged_and_the_next_side_asked_briefly(chat: Harness) -> None:
    chat.start_as("individual")
    chat.fill_identity()
    (front,) = chat.upload(files.photo(seed=1))
    assert front.text == (
        "✅ 身份证人像面（正面）已收到。\n现在请发送：<b>身份证国徽面（背面）</b>（2/2）。"
    )
    assert chat.buttons == ["nav:back:id_card", "nav:summary"]
    (summary,) = chat.upload(files.photo(seed=2))
    assert summary.text.startswith(
        "✅ 身份证人像面（正面）、身份证国徽面（背面）已收到。\n\n📋 <b>申请汇总</b>"
    )
    assert "nav:submit" in chat.buttons


def test_each_file_is_acknowledged_in_english(chat: Harness) -> None:
    chat.user = chat.user.__class__(chat.user.user_id, chat.user.chat_id, "en")
    chat.start_as("enterprise")
    chat.fill_identity()
    chat.text("Acme & Co., Ltd.")
    chat.text(VALID_USCC)
    chat.text("500")
    (front,) = chat.upload(files.photo(seed=1))
    assert front.text == (
        "✅ ID card, photo side (front) received.\n"
        "Now please send: <b>ID card, emblem side (back)</b> (2/2)."
    )
    chat.upload(files.photo(seed=2))
    (prompt,) = chat.upload(files.pdf())
    first, blank, question = prompt.text.split("\n")[:3]
    assert (first, blank) == ("✅ Business licence copy received.", "")
    assert question.startswith("Please upload a photo or scan of the <b>tax registration proof")


def test_a_statement_where_a_photo_is_asked_gets_the_photo_asked_for(tmp_path: Path) -> None:
    chat = Harness(tmp_path, with_faq=True)
    chat.start_as("individual")
    chat.fill_identity()
    for statement in ("我的身份证在这里", "身份证照片", "稍等，我找一下身份证"):
        (reply,) = chat.text(statement)
        assert reply.text.startswith(
            "📎 这一步需要您发送<b>身份证人像面（正面）</b>的照片或文件"
        ), statement
        assert "隐私" not in reply.text
    assert chat.state == "id_card"


def test_a_clear_question_where_a_photo_is_asked_is_still_answered(tmp_path: Path) -> None:
    chat = Harness(tmp_path, with_faq=True)
    chat.start_as("individual")
    chat.fill_identity()
    for question in ("我的身份证照片谁能看到？", "隐私政策", "转人工"):
        answer, prompt = chat.text(question)
        assert answer.buttons == [[("📚 更多常见问题", "faq:list")]], question
        assert "身份证照片" in prompt.text
    assert "180 天" in chat.text("隐私政策")[0].text


def test_markup_as_a_company_name_is_refused_kindly(chat: Harness) -> None:
    chat.start_as("enterprise")
    chat.fill_identity()
    (reply,) = chat.text("<b>x</b> & <script>")
    assert reply.text.startswith("公司名称里不能有 &lt; &gt; { } 这类符号或网页代码")
    assert chat.state == "company_name"
    chat.text("Acme & Co., Ltd.")
    assert chat.state == "uscc"


def test_cancel_arriving_after_submit_says_the_application_is_already_submitted(
    chat: Harness,
) -> None:
    chat.complete_individual()
    assert chat.last is not None
    summary = chat.last
    chat.press(data_of(summary, "确认提交"))
    (reply,) = chat.press(data_of(summary, "取消申请"))
    assert reply.text == (
        "您的申请 <b>DX-2026-000001</b> 已经提交，正在等待审核，无法再取消。\n"
        "如果想撤回申请，请发送 /delete：申请会被撤回，您的全部资料也会一并删除。"
        "发送 /status 可以查看进度。"
    )
    app = chat.applicant.application
    assert app is not None and app.status == "submitted"


def test_the_summary_counts_files_in_words_that_fit_the_number(chat: Harness) -> None:
    chat.user = chat.user.__class__(chat.user.user_id, chat.user.chat_id, "en")
    chat.start_as("individual")
    chat.fill_identity()
    chat.upload(files.photo(seed=1))
    summary = chat.command("summary")[-1].text
    assert "ID card, both sides: 1 file received" in summary
    chat.command("cancel")
    chat.press("nav:cancel_yes")
    chat.complete_individual()
    summary = chat.command("summary")[-1].text
    assert "ID card, both sides: 2 files received" in summary
    assert "(s)" not in summary


def test_the_welcome_names_the_assistant_without_a_stray_space(chat: Harness) -> None:
    welcome = chat.command("start")[0]
    assert welcome.text.startswith("👋 您好！我是<b>电销卡审核助手</b>。")
