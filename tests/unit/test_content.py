"""dialogs/ content: it loads, it is complete in both languages, and errors name file and key."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from cardbot.content.check import check_content, required_templates
from cardbot.content.loader import ContentError, load_spec
from cardbot.content.render import Renderer
from cardbot.content.telegram_html import (
    MAX_MESSAGE_LENGTH,
    split_message,
    telegram_html_problem,
    visible_length,
)
from cardbot.core.flow import mermaid_diagram
from cardbot.core.replies import Button, Reply
from tests.support.harness import DIALOGS, VALID_ID, VALID_USCC, Harness

CORE = Path(__file__).resolve().parents[2] / "src" / "cardbot" / "core"


@pytest.fixture
def dialogs(tmp_path: Path) -> Path:
    copy = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, copy)
    return copy


def test_shipped_dialogs_are_complete() -> None:
    assert check_content(DIALOGS) == []


def test_every_template_the_core_names_is_required_by_the_check() -> None:
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(CORE.rglob("*.py")))
    named = set(re.findall(r'(?:say|refuse)\(\s*(?:turn,\s*)?"([a-z_/]+)"', source))
    named |= set(re.findall(r'Reply\(\s*"([a-z_/]+)"', source))
    named |= set(re.findall(r'template = "([a-z_/]+)"', source))
    spec = load_spec(DIALOGS)
    assert named, "no template names found"
    assert named <= set(required_templates(spec)), named - set(required_templates(spec))


def test_categories_ask_for_the_documents_the_review_needs() -> None:
    spec = load_spec(DIALOGS)
    slots = {
        c.id: {slot for step in c.steps for slot in spec.steps[step].slots}
        for c in spec.categories.values()
    }
    identity = {"id_front", "id_back", "passport"}
    assert slots["enterprise"] == identity | {"business_license", "tax_registration"}
    assert slots["small_business"] == identity | {"business_license", "tax_registration"}
    assert spec.categories["small_business"].optional == {"tax_registration"}
    assert slots["individual"] == identity


def test_a_missing_template_is_named(dialogs: Path) -> None:
    (dialogs / "templates" / "en" / "steps" / "phone.j2").unlink()
    problems = check_content(dialogs)
    assert problems == [f"{dialogs / 'templates' / 'en' / 'steps' / 'phone'}.j2: template missing"]


def test_a_missing_label_is_named(dialogs: Path) -> None:
    path = dialogs / "labels" / "zh.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  back: ⬅️ 上一步\n", ""), "utf-8")
    assert check_content(dialogs) == [f"{path}: button.back: label missing"]


def test_a_template_syntax_error_is_named_with_its_line(dialogs: Path) -> None:
    path = dialogs / "templates" / "zh" / "help.j2"
    path.write_text("line one\n{% if %}\n", encoding="utf-8")
    problems = check_content(dialogs)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:2:")


def test_a_text_line_ending_in_a_block_tag_is_named_before_it_glues_lines(
    dialogs: Path,
) -> None:
    path = dialogs / "templates" / "zh" / "help.j2"
    path.write_text("{% if a %}甲{% endif %}\n乙\n{% if b %}\n丙{% endif +%}\n丁\n", "utf-8")
    problems = check_content(dialogs)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:1: the line break")
    rendered = Renderer(dialogs).render_text("help", "zh", {"a": True, "b": True})
    assert rendered == "甲乙\n丙\n丁"  # what the check warns of: 甲 and 乙 glued


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("validator: phone", "validator: telepathy", "steps.phone.validator"),
        ("kind: choice", "kind: carousel", "steps.id_type.kind"),
        ("when: {id_type: [passport]}", "when: {id_type: [visa]}", "steps.passport_page.when"),
        ("optional: [tax_registration]", "optional: [phone]", "categories.small_business"),
        ("max_bytes: 20971520", "max_bytes: lots", "documents.max_bytes"),
    ],
)
def test_a_broken_flow_names_the_file_and_key(dialogs: Path, old: str, new: str, key: str) -> None:
    path = dialogs / "flow.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        load_spec(dialogs)
    assert str(raised.value).startswith(f"{path}: {key}")


def test_reordering_steps_is_a_change_to_dialogs_only(dialogs: Path, tmp_path: Path) -> None:
    path = dialogs / "flow.yaml"
    text = path.read_text(encoding="utf-8")
    phone_step = "  phone:\n    kind: text\n    validator: phone\n"
    text = text.replace(phone_step, "").replace("  id_card:\n", phone_step + "  id_card:\n")
    text = text.replace("id_number, phone,", "id_number,")
    text = text.replace("daily_call_volume,\n", "daily_call_volume, phone,\n")
    text = text.replace("uscc,\n            id_card", "uscc, phone,\n            id_card")
    path.write_text(text, encoding="utf-8")
    assert check_content(dialogs) == []
    chat = Harness(tmp_path, dialogs=dialogs)
    chat.start_as("enterprise")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    chat.text(VALID_ID)
    assert chat.state == "company_name"
    chat.text("Acme Ltd")
    chat.text(VALID_USCC)
    chat.text("100")
    assert chat.state == "phone"


def test_user_text_is_escaped_and_labels_are_localised() -> None:
    renderer = Renderer(DIALOGS)
    reply = Reply(
        "unknown_command",
        chat_id=1,
        language="en",
        context={"name": "<script>&"},
        buttons=((Button("button.back", "nav:back"),),),
    )
    message = renderer.render(reply)
    assert "&lt;script&gt;&amp;" in message.text
    assert message.buttons == [[("⬅️ Back", "nav:back")]]


def test_a_typo_in_a_template_variable_fails_instead_of_sending_a_blank(dialogs: Path) -> None:
    (dialogs / "templates" / "zh" / "unknown_command.j2").write_text("{{ nmae }}", "utf-8")
    renderer = Renderer(dialogs)
    with pytest.raises(Exception, match="nmae"):
        renderer.render(Reply("unknown_command", 1, "zh", {"name": "x"}))


def test_diagram_names_every_state() -> None:
    spec = load_spec(DIALOGS)
    diagram = mermaid_diagram(spec)
    for step in spec.steps:
        assert f'state "{step}" as enterprise__{step}' in diagram, step
    assert "individual__phone --> individual__id_card : id_type = resident_id" in diagram
    assert "individual__phone --> individual__passport_page : id_type = passport" in diagram
    assert "small_business__business_license --> summary : skip tax_registration" in diagram
    assert "individual__passport_page --> summary" in diagram
    assert "summary --> submitted : submit (package complete)" in diagram


def test_ids_too_long_for_telegram_button_data_are_named(dialogs: Path) -> None:
    path = dialogs / "flow.yaml"
    long_id = "a_really_long_step_identifier_that_nobody_should_ever_use_here"
    text = path.read_text(encoding="utf-8")
    for where in ("choices: [resident_id, {}]", "when: {{id_type: [{}]}}"):
        text = text.replace(where.format("passport"), where.format(long_id))
    path.write_text(text, "utf-8")
    problems = check_content(dialogs)
    assert f"{path}: pick:id_type:{long_id}: button data over Telegram's 64 bytes" in problems[0]


def test_an_over_long_message_is_cut_between_lines_into_valid_pieces() -> None:
    lines = [f"<b>{n}</b> · {'内容' * 30} &amp; <i>more</i>" for n in range(200)]
    text = "\n".join(lines)
    assert visible_length(text) > MAX_MESSAGE_LENGTH

    pieces = split_message(text)

    assert len(pieces) > 1
    assert all(telegram_html_problem(piece) is None for piece in pieces)
    assert "\n".join(pieces) == text  # cut only between lines, nothing lost


def test_a_single_over_long_block_is_sent_as_escaped_plain_text() -> None:
    text = "<pre>" + "x&lt;y &amp; 😀 " * 1000 + "</pre>"

    pieces = split_message(text)

    assert len(pieces) > 1
    assert all(telegram_html_problem(piece) is None for piece in pieces)
    assert html.unescape("".join(pieces)) == "x<y & 😀 " * 1000


def test_a_message_within_the_limit_is_left_alone() -> None:
    assert split_message("<b>short</b> &amp; sweet") == ["<b>short</b> &amp; sweet"]
