"""A package as a folder: manifest.json and document files (export writes, prescreen reads)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardbot.core.screening import Package, PackageDocument
from cardbot.core.spec import DialogSpec

if TYPE_CHECKING:  # `cardbot prescreen` reads folders and never needs the model
    from cardbot.core.model import Application
    from cardbot.core.ports import DocumentStore

SCHEMA = "cardbot.package/1"
MANIFEST = "manifest.json"
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


class PackageFolderError(Exception):
    """The folder or its manifest cannot be read; the message says why."""


def write_package(folder: Path, application: Application, documents: DocumentStore) -> Path:
    """Write the application's manifest and documents into `folder` (new or empty)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise PackageFolderError(f"{folder} already exists and is not an empty folder")
    (folder / "documents").mkdir(parents=True, exist_ok=True, mode=0o700)
    entries = []
    for kind, document in sorted(application.documents.items()):
        relative = f"documents/{kind}{EXTENSIONS.get(document.mime_type, '')}"
        with documents.local_path(document.storage_key) as source:
            fd = os.open(folder / relative, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
        entries.append({"kind": kind, "file": relative, "sha256": document.sha256})
    manifest = {
        "schema": SCHEMA,
        "application_number": application.number,
        "category": application.category,
        "fields": dict(sorted(application.answers.items())),
        "documents": entries,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_package(folder: Path, spec: DialogSpec) -> Package:
    """Read a package folder; documents whose file is missing or outside it have no path."""
    if not folder.is_dir():
        raise PackageFolderError(f"{folder} is not a folder")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageFolderError(f"{folder / MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PackageFolderError(
            f"{folder / MANIFEST} cannot be read: {exc.__class__.__name__}"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise PackageFolderError(f"{folder / MANIFEST}: schema must be {SCHEMA!r}")
    category = manifest.get("category")
    if not isinstance(category, str) or category not in spec.categories:
        raise PackageFolderError(
            f"{folder / MANIFEST}: category must be one of {', '.join(spec.categories)}"
        )
    fields = manifest.get("fields", {})
    entries = manifest.get("documents", [])
    if not isinstance(fields, dict) or not isinstance(entries, list):
        raise PackageFolderError(
            f"{folder / MANIFEST}: fields must be an object and documents a list"
        )
    number = manifest.get("application_number")
    return Package(
        category=str(category),
        fields={str(k): _field_text(v) for k, v in fields.items() if v is not None},
        documents=[_document(folder, entry) for entry in entries if _is_entry(entry)],
        number=str(number) if number else None,
    )


def _field_text(value: Any) -> str:
    """A field's value as text; anything but text or a whole number counts as not given."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _is_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("kind"), str)


def _document(folder: Path, entry: dict[str, Any]) -> PackageDocument:
    """A manifest entry; a path that is absent, leaves the folder or is not a file gets None."""
    name = entry.get("file")
    sha256 = entry.get("sha256") if isinstance(entry.get("sha256"), str) else None
    kind = entry["kind"]
    if not isinstance(name, str) or not name:
        return PackageDocument(kind, None, sha256, absent_reason="no_file_named")
    try:
        root = folder.resolve()
        path = (folder / name).resolve()
        if not path.is_relative_to(root):
            return PackageDocument(kind, None, sha256, absent_reason="outside_folder")
        if not path.is_file():
            return PackageDocument(kind, None, sha256, absent_reason="file_not_found")
    except (OSError, ValueError):  # a name too long, or with a NUL byte
        return PackageDocument(kind, None, sha256, absent_reason="unusable_path")
    return PackageDocument(kind, path, sha256)
