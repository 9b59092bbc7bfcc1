"""FAQ matching: the labelled set, languages and scripts, typos, and refusing to guess."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.core.faq import FaqEntry, FaqMatcher, normalise, tokens

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import faq as faq_bench  # noqa: E402


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    return FaqMatcher(load_faq(ROOT / "faq"), negatives=load_negatives(ROOT / "faq"))


def test_the_labelled_set_is_answered_and_out_of_scope_questions_are_refused(
    matcher: FaqMatcher,
) -> None:
    result = faq_bench.evaluate(matcher, faq_bench.labelled_set())
    assert result["in_scope_accuracy"] >= 0.93, result["misses"]
    assert result["out_of_scope_refusal"] >= 0.90, result["misses"]
    for figures in result["by_language"].values():
        assert figures["in_scope_accuracy"] >= 0.90
        assert figures["out_of_scope_refusal"] >= 0.85


def test_the_required_entries_exist(matcher: FaqMatcher) -> None:
    required = {
        "approval-time",
        "resubmission",
        "rejection",
        "legality",
        "success-rate",
        "approval-speed",
        "required-documents",
        "review-process",
    }
    assert required <= set(matcher.entries)


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("审批要多久", "approval-time"),
        ("審批要多久才會下來", "approval-time"),  # Traditional characters
        ("how long does teh aproval take", "approval-time"),  # English typos
        ("审核状太怎么查", "check-status"),  # a homophone typo
        ("被拒了怎么办", "rejection"),
        ("what documents do I need for a small business", "required-documents"),
        ("法人变更了要重新提交吗", "resubmission"),
        ("电销卡怎么判断是不是正规的", "legality"),
    ],
)
def test_questions_in_either_language_and_script_find_their_entry(
    matcher: FaqMatcher, question: str, entry: str
) -> None:
    assert matcher.match(question).entry_id == entry


@pytest.mark.parametrize(
    "question",
    [
        "你好",
        "谢谢！",
        "thanks so much",
        "hi",
        "今天天气怎么样",
        "order a pizza",
        "信用卡审批要多久",
        "how do I renew my passport",
        "",
        "   ",
        "😀😀😀",
    ],
)
def test_greetings_thanks_and_unrelated_questions_get_no_answer(
    matcher: FaqMatcher, question: str
) -> None:
    assert matcher.match(question).entry_id is None


def test_an_unsure_match_still_names_the_closest_entries(matcher: FaqMatcher) -> None:
    match = matcher.match("我的材料有问题吗")
    assert match.entry_id is None or match.entry_id in matcher.entries
    assert len(match.candidates) <= 3
    assert all(c in matcher.entries for c in match.candidates)


def test_a_match_resting_on_one_common_word_is_refused() -> None:
    entries = [
        FaqEntry("a", {"zh": ("申请审核多久",), "en": ("how long is the review",)}, {"zh": "a"}),
        FaqEntry("b", {"zh": ("申请被拒怎么办",), "en": ("review rejected",)}, {"zh": "b"}),
        FaqEntry("c", {"zh": ("申请需要什么",), "en": ("review documents",)}, {"zh": "c"}),
    ]
    assert FaqMatcher(entries).match("review").entry_id is None


def test_normalising_folds_width_case_and_traditional_characters() -> None:
    assert normalise("ＡＰＰＲＯＶＡＬ 審核") == "approval 审核"
    assert "~zhuangtai" in tokens("状态") and "~zhuangtai" in tokens("状太")
