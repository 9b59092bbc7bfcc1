"""`cardbot dialogs check`: every file loads, every template and label exists in each language."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

from jinja2 import TemplateSyntaxError

from cardbot.content.loader import ContentError, load_spec
from cardbot.content.render import LANGUAGES, Renderer
from cardbot.core import files, screening, validation
from cardbot.core.languages import LANGUAGES as CORE_LANGUAGES
from cardbot.core.model import Status
from cardbot.core.review.readings import READING_FLAGS
from cardbot.core.router import COMMANDS
from cardbot.core.spec import DialogSpec

STAFF_TEMPLATES = (
    "entries",
    "entry",
    "ask_answer",
    "ask_question",
    "ask_new_id",
    "invalid_id",
    "invalid_question",
    "template_error",
    "preview",
    "confirm_publish",
    "published",
    "discarded",
    "question_added",
    "history",
    "rolled_back",
    "unanswered",
    "attach_choose",
    "attached",
    "dismissed",
    "unanswered_gone",
    "report_started",
    "report",
    "report_failed",
)
REVIEW_TEMPLATES = (
    "resubmitted",
    "withdraw_confirm",
    "withdrawn",
    "reapply_started",
    "decision/in_review",
    "decision/investigating",
    "decision/resubmit",
    "decision/approved",
    "decision/rejected",
    "review/card",
    "review/queue",
    "review/queue_usage",
    "review/ask_comment",
    "review/ask_note",
    "review/reminder",
    "review/show_usage",
    "review/not_reviewer",
    "review/reply_ignored",
    "review/text_too_long",
    "review/toast/stale",
    "review/toast/not_reviewer",
    "review/toast/claimed_by_other",
    "review/toast/claimed",
    "review/toast/already_decided",
    "review/toast/pick_reason",
    "review/toast/pick_item",
    "review/toast/documents_sent",
    "review/toast/revealed",
    "review/dossier",
    "review/start_bot",
    "review/released",
    "review/reassigned",
    "review/assign_usage",
    "review/not_admin",
    "review/mine",
    "review/card_replaced",
    "review/prompt_closed",
    "review/toast/released",
    "review/erased",
    "review/help",
)
REVIEW_LABELS = (
    "claim",
    "note",
    "approve",
    "reject",
    "resubmit",
    "investigate",
    "confirm_approve",
    "confirm_reject",
    "send_with_reason",
    "confirm_investigate",
    "release",
    "comment",
    "back",
    "documents",
)
FIXED_TEMPLATES = (
    "welcome",
    "welcome_back",
    "consent",
    "consent_declined",
    "choose_category",
    "summary",
    "edit_choose",
    "submitted",
    "already_submitted",
    "status",
    "help",
    "cancel_confirm",
    "cancelled",
    "nothing_to_cancel",
    "idle",
    "choose_language",
    "language_set",
    "stale_button",
    "unknown_command",
    "cannot_go_back",
    "incomplete",
    "error",
    "faq_list",
    "faq_unsure",
    "support_sent",
    "support/question",
    "support_answer",
    "support_ask",
    "support/followup",
    "not_allowed",
    *(f"staff/{name}" for name in STAFF_TEMPLATES),
    "admin/roles",
    "admin/usage",
    "admin/changed",
    "support/not_staff",
    "support/relayed",
    "support/applicant_gone",
    "use_as_answer",
    "support_busy",
    "slow_down",
    "mydata",
    "delete_confirm",
    "delete_kept",
    "deleted",
    "document_received",
    "cancel_submitted",
    "role_help",
    "prefill_proposal",
    "prefill_unread",
    "photo_unreadable",
)
FLOW_PROBLEMS = (
    "unsupported_message",
    "expected_file",
    "use_buttons",
    "text_too_long",
    "unexpected_file",
    "album_extra",
    "duplicate_document",
    "edited_message",
)
MAX_CALLBACK_DATA = 64
REPORT_LABELS = ("document", "funnel", "promise")
STAFF_LABELS = (
    "new_entry",
    "edit_answer_zh",
    "edit_answer_en",
    "add_question_zh",
    "add_question_en",
    "history",
    "all_entries",
    "discard",
    "roll_back",
    "publish",
)
BUTTONS = (
    "delete_data",
    "delete_yes",
    "delete_no",
    "reapply",
    "withdraw",
    "withdraw_yes",
    "agree",
    "decline",
    "start",
    "back",
    "summary",
    "keep",
    "skip",
    "submit",
    "continue",
    "edit",
    "cancel",
    "cancel_yes",
    "cancel_no",
    "more_questions",
    "ask_person",
    "use_as_answer",
    "keep_document",
    "apply",
    "prefill_yes",
    "prefill_submit",
    "prefill_manual",
)


def required_templates(spec: DialogSpec) -> list[str]:
    """Every template id the conversation can ask for."""
    return [
        *FIXED_TEMPLATES,
        *REVIEW_TEMPLATES,
        *(f"steps/{step}" for step in spec.steps),
        *(f"problems/{code}" for code in FLOW_PROBLEMS),
        *(f"problems/{code}" for code in validation.PROBLEM_CODES),
        *(f"problems/{code}" for code in files.PROBLEM_CODES),
    ]


def required_labels(spec: DialogSpec) -> list[str]:
    """Every label key the conversation can ask for."""
    keys = [f"category.{c}" for c in spec.categories]
    keys += ["step.category", *(f"step.{s}" for s in spec.steps)]
    keys += [f"choice.{s.id}.{c}" for s in spec.steps.values() for c in s.choices]
    keys += [f"document.{kind}" for kind in spec.document_kinds()]
    keys += [f"button.{b}" for b in BUTTONS]
    keys += [f"language.{code}" for code in CORE_LANGUAGES]
    keys += [f"status.{status.value}" for status in Status]
    keys += ["status.resubmitted", "unsupported.other"]
    keys += [f"review.{name}" for name in REVIEW_LABELS]
    keys += [f"flag.{code}" for code in (*screening.FLAG_CODES, *sorted(READING_FLAGS))]
    keys += [f"command.{c}" for c in COMMANDS]
    keys += [f"staff.{name}" for name in STAFF_LABELS]
    keys += [f"problem.{code}" for code in screening.PROBLEM_CODES]
    keys += [f"report.{name}" for name in REPORT_LABELS]
    if spec.reading is not None:
        keys += [
            f"switch.{step}.{choice}"
            for step in spec.reading.assume
            for choice in spec.steps[step].choices
        ]
    return keys


def callback_data(spec: DialogSpec) -> list[str]:
    """The button data that ids from dialogs/ end up in."""
    data = [f"cat:{category}" for category in spec.categories]
    data += [f"edit:{step}" for step in spec.steps]
    data += [f"pick:{s.id}:{choice}" for s in spec.steps.values() for choice in s.choices]
    largest_id = "9" * 12  # review buttons carry the application id
    data += [f"rv:{largest_id}:r:{reason}" for reason in spec.reasons]
    data += [f"rv:{largest_id}:i:{step}" for step in spec.steps]
    return data


_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}")
_ENDS_IN_BLOCK_TAG = re.compile(r"(?<![-+])%}\s*$")


def lost_line_breaks(path: Path) -> list[str]:
    """Lines of a template whose text would run into the next line.

    Templates are rendered with trim_blocks, which drops the line break after a block tag. On a
    line that is only tags that is wanted; on a line with text it glues the next line to it
    (`…2026-12-17进度`). Such a line must end its tag with `+%}` (keep the line break).
    """
    lines = path.read_text(encoding="utf-8").split("\n")
    return [
        f"{path}:{number}: the line break after this block tag is dropped, so the next line "
        "runs into this one; end the tag with +%} to keep it"
        for number, (line, following) in enumerate(pairwise(lines), start=1)
        if _ENDS_IN_BLOCK_TAG.search(line) and _TAG.sub("", line).strip() and following.strip()
    ]


def check_content(dialogs_dir: Path) -> list[str]:
    """Every problem found in `dialogs_dir`, each naming its file and key; empty when fine."""
    try:
        spec = load_spec(dialogs_dir)
        renderer = Renderer(dialogs_dir)
    except ContentError as exc:
        return [str(exc)]
    problems: list[str] = []
    for data in callback_data(spec):
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            problems.append(
                f"{dialogs_dir / 'flow.yaml'}: {data}: button data over Telegram's "
                f"{MAX_CALLBACK_DATA} bytes; use a shorter id"
            )
    templates = dialogs_dir / "templates"
    for lang in LANGUAGES:
        for template in required_templates(spec):
            if not (templates / lang / f"{template}.j2").is_file():
                problems.append(f"{templates / lang / template}.j2: template missing")
        for path in sorted((templates / lang).rglob("*.j2")):
            name = path.relative_to(templates).as_posix()
            try:
                renderer.env.get_template(name)
            except TemplateSyntaxError as exc:
                problems.append(f"{path}:{exc.lineno}: {exc.message}")
            problems += lost_line_breaks(path)
        for key in required_labels(spec):
            if key not in renderer.labels[lang]:
                problems.append(f"{dialogs_dir / 'labels' / lang}.yaml: {key}: label missing")
    return problems
