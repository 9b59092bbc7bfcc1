"""The faq/ folder: one YAML file per entry, loaded, checked and written back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from cardbot.content.loader import ContentError, read_yaml
from cardbot.core.faq import ENTRY_ID, FAQ_LANGUAGES, FaqEntry


def entry_from_data(data: Any, where: str) -> FaqEntry:
    """An entry from its parsed YAML (or stored JSON); errors name `where` and the key."""
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a mapping with id, questions and answer")
    entry_id = data.get("id")
    if not isinstance(entry_id, str) or not entry_id.strip():
        raise ContentError(f"{where}: id: must be a non-empty text")

    def per_language(key: str, *, lists: bool, required: bool = True) -> dict[str, Any]:
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            raise ContentError(f"{where}: {key}: must map zh and en to values")
        out: dict[str, Any] = {}
        for lang in FAQ_LANGUAGES:
            value = raw.get(lang)
            if lists:
                value = tuple(str(v).strip() for v in (value or ()) if str(v).strip())
            elif value is not None:
                value = str(value).strip()
            if required and not value:
                raise ContentError(f"{where}: {key}.{lang}: missing")
            if value:
                out[lang] = value
        return out

    return FaqEntry(
        id=entry_id.strip(),
        questions=per_language("questions", lists=True),
        answers=per_language("answer", lists=False),
        keywords=per_language("keywords", lists=True, required=False),
        tags=tuple(str(t) for t in data.get("tags") or ()),
    )


def entry_to_data(entry: FaqEntry) -> dict[str, Any]:
    """The entry as plain data, in the faq/ file layout."""
    data: dict[str, Any] = {"id": entry.id}
    if entry.tags:
        data["tags"] = list(entry.tags)
    data["questions"] = {lang: list(entry.questions.get(lang, ())) for lang in FAQ_LANGUAGES}
    if entry.keywords:
        data["keywords"] = {lang: list(entry.keywords.get(lang, ())) for lang in FAQ_LANGUAGES}
    data["answer"] = {lang: entry.answers.get(lang, "") for lang in FAQ_LANGUAGES}
    return data


def load_faq(folder: Path) -> list[FaqEntry]:
    """Every entry in `folder`, checked for unique ids that match their file names."""
    if not folder.is_dir():
        raise ContentError(f"{folder}: FAQ folder not found")
    entries: list[FaqEntry] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        entry = entry_from_data(read_yaml(path), str(path))
        if not ENTRY_ID.match(entry.id):
            raise ContentError(
                f"{path}: id: use 2–40 lower-case letters, digits and hyphens (it goes into "
                "button data, which Telegram limits to 64 bytes)"
            )
        if entry.id != path.stem:
            raise ContentError(f"{path}: id: {entry.id!r} must match the file name")
        if entry.id in seen:
            raise ContentError(f"{path}: id: {entry.id!r} already used in {seen[entry.id]}")
        seen[entry.id] = path
        entries.append(entry)
    if not entries:
        raise ContentError(f"{folder}: no FAQ entries (*.yaml)")
    return entries


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line answers as readable block text."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _text)


def write_faq(folder: Path, entries: Iterable[FaqEntry]) -> list[Path]:
    """Write each entry to `folder`/<id>.yaml, in the faq/ format."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in entries:
        path = folder / f"{entry.id}.yaml"
        text = yaml.dump(
            entry_to_data(entry), Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False
        )
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_faq(folder: Path, render_error: Callable[[FaqEntry, str], str | None]) -> list[str]:
    """Every problem in a faq/ folder: loading, then each answer rendered in each language."""
    try:
        entries = load_faq(folder)
    except ContentError as exc:
        return [str(exc)]
    problems = []
    for entry in entries:
        for lang in FAQ_LANGUAGES:
            error = render_error(entry, lang)
            if error:
                problems.append(f"{folder / entry.id}.yaml: answer.{lang}: {error}")
    return problems


def load_negatives(folder: Path) -> list[str]:
    """Questions the FAQ must not answer, from `folder`/negative/*.yaml (both languages)."""
    questions: list[str] = []
    for path in sorted((folder / "negative").glob("*.yaml")):
        data = read_yaml(path) or {}
        raw = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise ContentError(f"{path}: questions: must map zh and en to lists")
        for lang in FAQ_LANGUAGES:
            questions += [str(q) for q in raw.get(lang) or () if str(q).strip()]
    return questions
