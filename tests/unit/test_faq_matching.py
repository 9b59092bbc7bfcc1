"""FAQ matching: the labelled set, languages and scripts, typos, and refusing to guess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.core.faq import FaqEntry, FaqMatcher, closest_word
from cardbot.core.faq_terms import normalise, tokens

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


@pytest.mark.parametrize("path", [faq_bench.HELD_OUT, faq_bench.SETS["development"]])
def test_held_out_questions_are_answered_and_adjacent_ones_refused_in_each_language(
    matcher: FaqMatcher, path: Path
) -> None:
    result = faq_bench.evaluate(matcher, faq_bench.labelled_set(path))
    assert set(result["by_language"]) == {"zh", "en"}
    for figures in result["by_language"].values():
        assert figures["in_scope_accuracy"] >= 0.90, result["misses"]
        assert figures["out_of_scope_refusal"] >= 0.90, result["misses"]


@pytest.mark.parametrize(
    "question",
    [
        "抖音小店开户审核要多久",
        "中信银行房贷一般多久审批下来",
        "考研网上确认审核需要多久",
        "代金券合法吗",
        "信用卡额度怎么提高",
        "征信不好能贷款吗",
        "10086热线人工服务几点开始",
        "营业执照怎么办理",
    ],
)
def test_a_question_about_another_product_or_institution_is_not_ours(
    matcher: FaqMatcher, question: str
) -> None:
    match = matcher.match(question)
    assert (match.entry_id, match.reason.split(":")[0]) == (None, "other")


@pytest.mark.parametrize(
    "question",
    [
        "电销卡丢失后如何补办需哪些证件材料",
        "电销卡退费流程需要哪些材料",
        "电销卡每天能打多少个电话",
        "电销卡怎么激活",
        "电销卡多少钱一个月",
        "电销卡需要二次实名吗",
        "电销卡被封号了怎么办",
        "how do I get a refund for the card",
        "I lost my telemarketing SIM, how do I replace it",
        "how many calls can I make per day",
        "my number got blocked, what do I do",
    ],
)
def test_a_card_topic_no_entry_covers_is_not_sure(matcher: FaqMatcher, question: str) -> None:
    match = matcher.match(question)
    assert (match.entry_id, match.reason.split(":")[0], match.candidates) == (
        None,
        "uncovered",
        (),
    )


@pytest.mark.parametrize(
    "question",
    [
        "我要活人",
        "别说了，叫个人来",
        "跟你说不明白",
        "我想找人工客服",
        "转人工",
        "I want to talk to a person",
        "human please",
        "get me a real person",
    ],
)
def test_colloquial_requests_for_a_person_are_recognised(
    matcher: FaqMatcher, question: str
) -> None:
    match = matcher.match(question)
    assert (match.entry_id, match.wants_person) == ("talk-to-person", True)


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("How long are my provided documents kept for?", "privacy"),
        ("Is the verification process secure?", "privacy"),
        ("电销卡审核要多久", "approval-time"),
        ("办电销卡需要什么材料", "required-documents"),
        ("电销卡合法吗", "legality"),
    ],
)
def test_questions_about_the_review_still_find_their_entry(
    matcher: FaqMatcher, question: str, entry: str
) -> None:
    assert matcher.match(question).entry_id == entry


def test_an_entry_staff_add_about_an_uncovered_topic_makes_it_answerable() -> None:
    entries = [
        *load_faq(ROOT / "faq"),
        FaqEntry(
            "refund",
            {"zh": ("电销卡怎么退费？", "退款多久到账？"), "en": ("How do I get a refund?",)},
            {"zh": "退费说明", "en": "Refunds"},
        ),
    ]
    matcher = FaqMatcher(entries, negatives=load_negatives(ROOT / "faq"))
    assert matcher.match("电销卡怎么退费呀").entry_id == "refund"
    assert matcher.match("how do I get a refund for the card").entry_id == "refund"


def test_the_matcher_reads_pinyin_without_loading_pypinyins_phrase_dictionary() -> None:
    # pypinyin's package loads a phrase dictionary of about 45 MB that matching never uses.
    probe = "import sys, cardbot.core.faq; print('pypinyin' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert tokens("状态") and "~zhuangtai" in tokens("状太")


def test_a_misspelt_word_is_taken_for_the_closest_faq_word_and_only_a_close_one() -> None:
    words = ["refund", "review", "reviewer", "rejected"]
    assert closest_word("reveiw", words) == "review"
    assert closest_word("reviewr", words) == "reviewer"
    assert closest_word("rejectd", words) == "rejected"
    assert closest_word("rocket", words) is None, "nothing close enough"
    assert closest_word("ab", ["ac", "ad"], cutoff=0.5) == "ac", "a tie goes to the first"
