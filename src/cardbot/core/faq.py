"""FAQ entries and the matcher that maps a free-text question to one of them, or to none."""

from __future__ import annotations

import difflib
import heapq
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from cardbot.core.faq_scope import Topic, asks_for_person, covers, other_subject, uncovered_topic
from cardbot.core.faq_terms import SMALL_TALK, ZH_STOP, normalise, tokens
from cardbot.core.text import CJK_RUN

FAQ_LANGUAGES = ("zh", "en")
NOT_OURS = "~not-ours"
ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MAX_LISTED = 90  # Telegram allows 100 buttons in one message
MAX_CORRECTIONS = 20_000
PERSON_TAG = "person"  # the entry that says how to reach a person (else PERSON_ENTRY)
PERSON_ENTRY = "talk-to-person"


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ entry: question variants and intent keywords per language, answer templates."""

    id: str
    questions: Mapping[str, tuple[str, ...]]
    answers: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    def with_question(self, language: str, question: str) -> FaqEntry:
        """A copy with one more question variant."""
        questions = dict(self.questions)
        questions[language] = (*questions.get(language, ()), question)
        return FaqEntry(self.id, questions, self.answers, self.keywords, self.tags)

    def with_answer(self, language: str, answer: str) -> FaqEntry:
        """A copy with the answer in `language` replaced."""
        answers = dict(self.answers)
        answers[language] = answer
        return FaqEntry(self.id, self.questions, answers, self.keywords, self.tags)


@dataclass(frozen=True)
class FaqMatch:
    """The matcher's verdict: the entry (None when not confident), its score, the runners-up;
    whether the asker wants a person, and why a question was refused (other:…, uncovered:…)."""

    entry_id: str | None
    score: float
    candidates: tuple[str, ...] = ()
    wants_person: bool = False
    reason: str = ""


def closest_word(word: str, candidates: Sequence[str], cutoff: float = 0.8) -> str | None:
    """The first candidate most similar to `word` (difflib's ratio, twice the matching
    characters over both lengths), if one reaches `cutoff`; cheap bounds skip the others."""
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(word)
    best, best_ratio = None, cutoff
    for candidate in candidates:
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio or (best is None and ratio >= best_ratio):
            best, best_ratio = candidate, ratio
    return best


# --- the matcher ---------------------------------------------------------------------------


@dataclass
class _Indexed:
    """One entry as the matcher reads it: each of its terms (from its question variants and
    keywords) with the variants that hold it as the bits of an int (0: only in a keyword),
    each variant's idf mass, and its keywords. A dict of small ints takes a fifth of the
    memory of a set per variant (1,000 entries: 10 MB instead of 36 MB)."""

    entry: FaqEntry
    terms: dict[str, int]
    masses: tuple[float, ...]
    keywords: list[Keyword]

    def keyword_hits(self, text: str, terms: Set[str]) -> int:
        """How many intent keywords the question contains."""
        return sum(1 for keyword in self.keywords if keyword.found(text, terms))


@dataclass(frozen=True)
class Keyword:
    """An intent cue: found as a phrase (whole words in English), or as two or more of the
    question's (spelling-corrected) terms."""

    phrase: str
    terms: frozenset[str]
    pattern: re.Pattern[str] | None
    characters: frozenset[str]

    @classmethod
    def of(cls, phrase: str) -> Keyword:
        """The cue for one keyword of an entry."""
        pattern = (
            re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")
            if phrase.isascii()
            else None
        )
        characters = frozenset(c for c in phrase if CJK_RUN.match(c) and c not in ZH_STOP)
        terms = frozenset(t for t in tokens(phrase) if t[0] != "~")
        return cls(phrase, terms, pattern, characters if len(characters) >= 3 else frozenset())

    def found(self, text: str, terms: Set[str]) -> bool:
        """True when the question contains this cue."""
        if self.pattern.search(text) if self.pattern else self.phrase in text:
            return True
        if self.characters and self.characters <= terms:  # 换了法人 for 法人换了
            return True
        return len(self.terms) >= 2 and self.terms <= terms


@dataclass(frozen=True)
class MatcherSettings:
    """The matcher's weights, tuned on bench/faq_labelled.yaml (see bench/faq.py)."""

    threshold: float = 0.35
    # A text that is not phrased as a question, sent where a file or a tap is awaited, is most
    # likely about that step ("我的身份证在这里" scores 0.44 for privacy, "身份证照片" 0.82):
    # it is answered only above this score ("转人工" 1.17, "隐私政策" 1.06, "文件格式" 1.05).
    sure: float = 0.9
    variant_weight: float = 0.3
    coverage_weight: float = 0.7
    keyword_bonus: float = 0.2
    unknown_idf: float = 0.5
    min_telling_terms: int = 2
    rare_idf: float = 2.0
    keyword_shield: float = 0.05


class FaqMatcher:
    """Lexical scoring over question variants, an intent layer of keywords, typo tolerance."""

    CANDIDATES = 3
    SHORTLIST = 6

    def __init__(
        self,
        entries: Iterable[FaqEntry],
        settings: MatcherSettings | None = None,
        negatives: Sequence[str] = (),
    ) -> None:
        self.settings = settings or MatcherSettings()
        self.entries: dict[str, FaqEntry] = {}
        raw: list[tuple[FaqEntry, list[tuple[str, ...]], list[str], dict[str, int]]] = []
        postings: dict[str, set[int]] = defaultdict(set)
        same: dict[str, str] = {}  # one string object per term, however many variants hold it
        # Questions the FAQ must not answer form one more "entry"; winning it means refusing.
        not_ours = FaqEntry(NOT_OURS, {"zh": tuple(negatives)}, {}) if negatives else None
        for entry in [*entries, *([not_ours] if not_ours else [])]:
            variants = [
                tuple(dict.fromkeys(same.setdefault(t, t) for t in tokens(q)))
                for qs in entry.questions.values()
                for q in qs
                if q.strip()
            ]
            keywords = [normalise(k) for ks in entry.keywords.values() for k in ks if k.strip()]
            terms: dict[str, int] = {}
            for bit, variant in enumerate(variants):
                for term in variant:
                    terms[term] = terms.get(term, 0) | 1 << bit
            for keyword in keywords:
                for term in tokens(keyword):
                    terms.setdefault(same.setdefault(term, term), 0)
            for term in terms:
                postings[term].add(len(raw))
            raw.append((entry, variants, keywords, terms))
            if entry is not not_ours:
                self.entries[entry.id] = entry
        count = max(len(raw), 1)
        self._postings = {term: tuple(ids) for term, ids in postings.items()}
        self._idf = {
            term: math.log(1 + (count - len(ids) + 0.5) / (len(ids) + 0.5))
            for term, ids in postings.items()
        }
        self._unknown = math.log(1 + (count + 0.5) / 0.5) * self.settings.unknown_idf
        self._indexed = [
            _Indexed(
                entry,
                terms,
                tuple(sum(self._idf[t] for t in variant) for variant in variants),
                [Keyword.of(k) for k in keywords],
            )
            for entry, variants, keywords, terms in raw
        ]
        del raw
        self._corrections: dict[str, str] = {}
        self._english_vocabulary = sorted(t for t in postings if t.isascii() and len(t) >= 4)
        self._our_vocabulary = frozenset().union(
            *(i.terms for i in self._indexed if i.entry.id != NOT_OURS)
        )
        self._questions = [
            normalise(q)
            for entry in self.entries.values()
            for qs in entry.questions.values()
            for q in qs
        ]
        self._topics_covered: dict[str, bool] = {}
        self.person_entry = next(
            (e.id for e in self.entries.values() if PERSON_TAG in e.tags),
            PERSON_ENTRY if PERSON_ENTRY in self.entries else None,
        )

    def covers(self, topic: Topic) -> bool:
        """True when some entry's questions are about the topic (found once, then kept)."""
        found = self._topics_covered.get(topic.name)
        if found is None:
            found = self._topics_covered[topic.name] = covers(topic, self._questions)
        return found

    def scope(self, text: str) -> FaqMatch | None:
        """The verdict on what the normalised text is about, before any word is weighed: another
        product or institution (refused), a request for a person, or a card topic no entry
        covers (not sure); None when it may be ours."""
        subject = other_subject(text)
        if subject is not None and not self.covers(subject):
            return FaqMatch(None, 0.0, reason=f"other:{subject.name}")
        if asks_for_person(text):
            return FaqMatch(self.person_entry, 1.0, wants_person=True, reason="person")
        topic = uncovered_topic(text)
        if topic is not None and not self.covers(topic):
            return FaqMatch(None, 0.0, reason=f"uncovered:{topic.name}")
        return None

    def idf(self, term: str) -> float:
        """How telling a term is: rare across entries means telling; unknown terms count too."""
        return self._idf.get(term, self._unknown)

    def _resolve(self, term: str) -> str:
        """A misspelt English word mapped to the FAQ's closest word starting with the same
        letter, if one is close; everything else as it is."""
        if term in self._postings or not term.isascii() or len(term) < 4 or term[0] == "~":
            return term
        corrected = self._corrections.get(term)
        if corrected is None:
            same_start = [w for w in self._english_vocabulary if w[0] == term[0]]
            corrected = closest_word(term, same_start) or term
            if len(self._corrections) < MAX_CORRECTIONS:
                self._corrections[term] = corrected
        return corrected

    def match(self, question: str) -> FaqMatch:
        """The entry that answers `question`, or None with the closest entries as candidates."""
        text = normalise(question)
        if not text or SMALL_TALK.match(text):
            return FaqMatch(None, 0.0)
        verdict = self.scope(text)
        if verdict is not None:
            return verdict
        terms = tuple(dict.fromkeys(self._resolve(t) for t in tokens(question)))
        if not terms:
            return FaqMatch(None, 0.0)
        weights = {term: self.idf(term) for term in terms}
        total = sum(weights.values())
        mass: dict[int, float] = {}
        postings = self._postings
        for term in terms:
            # Single characters add little but cost much: pairs and pinyin find candidates.
            found = postings.get(term) if len(term) > 1 or term.isascii() else None
            if not found:
                continue
            weight = weights[term]
            for index in found:
                mass[index] = mass.get(index, 0.0) + weight
        shortlist = heapq.nlargest(self.SHORTLIST, mass, key=mass.__getitem__)
        term_set = frozenset(terms)
        scored = sorted(
            (
                (self._score(i, text, weights, total, self._covered(i, term_set, weights)), i)
                for i in shortlist
            ),
            reverse=True,
        )
        if not scored:
            return FaqMatch(None, 0.0)
        ours = [(score, i) for score, i in scored if self._indexed[i].entry.id != NOT_OURS]
        theirs = [i for _score, i in scored if self._indexed[i].entry.id == NOT_OURS]
        if ours and theirs and any(t not in self._our_vocabulary for t in terms):
            # The question is closer to a question we must not answer than to any of ours,
            # through words that none of ours use (信用卡, visa, …); an intent keyword of
            # ours raises the bar.
            closest_ours = max(self._closest_variant(i, weights, total) for _s, i in ours[:3])
            if self._indexed[ours[0][1]].keyword_hits(text, term_set):
                closest_ours += self.settings.keyword_shield
            if self._closest_variant(theirs[0], weights, total) > closest_ours:
                scored = [(0.0, theirs[0]), *scored]
        best, best_index = scored[0]
        candidates = tuple(self._indexed[i].entry.id for _s, i in ours[: self.CANDIDATES])
        best_id = self._indexed[best_index].entry.id
        if (
            best_id == NOT_OURS
            or best < self.settings.threshold
            or not self._enough_evidence(best_index, text, terms)
        ):
            return FaqMatch(None, ours[0][0] if ours else 0.0, candidates)
        return FaqMatch(best_id, best, candidates)

    def _covered(self, index: int, terms: frozenset[str], weights: Mapping[str, float]) -> float:
        """The idf mass of the question's terms that the entry knows."""
        known = self._indexed[index].terms
        return sum(weights[t] for t in terms if t in known)

    def _closest_variant(self, index: int, weights: Mapping[str, float], total: float) -> float:
        """Weighted overlap (Jaccard) of the question with the entry's closest variant."""
        indexed = self._indexed[index]
        shared: dict[int, float] = {}
        for term, weight in weights.items():
            variants = indexed.terms.get(term, 0)
            while variants:  # each variant holding the term, one bit each
                lowest = variants & -variants
                bit = lowest.bit_length() - 1
                shared[bit] = shared.get(bit, 0.0) + weight
                variants ^= lowest
        masses = indexed.masses
        return max(
            (mass / (total + masses[bit] - mass) for bit, mass in shared.items()), default=0.0
        )

    def _score(
        self,
        index: int,
        text: str,
        weights: Mapping[str, float],
        total: float,
        covered: float,
    ) -> float:
        settings = self.settings
        indexed = self._indexed[index]
        best_variant = self._closest_variant(index, weights, total)
        hits = indexed.keyword_hits(text, weights.keys())
        bonus = settings.keyword_bonus * min(hits, 2) / 2 + (0.1 if hits else 0.0)
        return (
            settings.variant_weight * best_variant
            + settings.coverage_weight * covered / total
            + bonus
        )

    def _enough_evidence(self, index: int, text: str, terms: Sequence[str]) -> bool:
        """Refuse a match resting on one common term and no intent keyword."""
        indexed = self._indexed[index]
        if indexed.keyword_hits(text, set(terms)):
            return True
        telling = [t for t in terms if t in indexed.terms and t[0] != "~" and self.idf(t) > 1.0]
        rare = any(self.idf(t) >= self.settings.rare_idf for t in telling)
        return len(telling) >= self.settings.min_telling_terms or rare
