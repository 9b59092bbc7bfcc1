"""An applicant and their current application, read and written with prebuilt SQL statements.

This is the path every applicant update takes, so it skips the ORM's unit of work: each
statement is built once at import, rows are compared with what was loaded, and only what
changed is written. Optimistic locking matches the ORM's `version_id_col`: a row is updated
only at the version that was read, and the version goes up by one; a lost race raises
ConcurrentUpdateError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from cardbot.core.model import DECIDED_STATUSES, Applicant, Application, Flag, Status
from cardbot.core.model import StoredDocument as Document
from cardbot.core.ports import ConcurrentUpdateError
from cardbot.db.models import AnswerRow, ApplicantRow, ApplicationRow, DocumentRow
from cardbot.db.review_repositories import review_from_data, review_to_data

APPLICANTS: Table = ApplicantRow.__table__  # type: ignore[assignment]
APPLICATIONS: Table = ApplicationRow.__table__  # type: ignore[assignment]
ANSWERS: Table = AnswerRow.__table__  # type: ignore[assignment]
DOCUMENTS: Table = DocumentRow.__table__  # type: ignore[assignment]

# The applicant's own columns; application_id (last) comes from their application.
APPLICANT_FIELDS = (
    "chat_id",
    "language",
    "state",
    "consent_at",
    "slot_index",
    "album_group",
    "album_step",
    "pending_action",
    "pending_text",
    "staff_action",
    "staff_draft",
    "application_id",
)
APPLICATION_FIELDS = (
    "number",
    "category",
    "status",
    "skipped",
    "flags",
    "submitted_at",
    "review",
    "redo",
    "closed_at",
)
DOCUMENT_FIELDS = (
    "storage_key",
    "sha256",
    "mime_type",
    "size",
    "file_unique_id",
    "received_at",
    "phash",
)

# The applicant with their current application's row in one query (its columns as app_*)...
SELECT_APPLICANT = (
    select(APPLICANTS, *(column.label(f"app_{column.name}") for column in APPLICATIONS.c))
    .select_from(
        APPLICANTS.outerjoin(APPLICATIONS, APPLICATIONS.c.id == APPLICANTS.c.application_id)
    )
    .where(APPLICANTS.c.user_id == bindparam("key"))
)
SELECT_APPLICATION = select(APPLICATIONS).where(APPLICATIONS.c.id == bindparam("key"))
# ...and its answers and documents in another: on PostgreSQL every query is a round trip.
# Documents come first, so the columns take their types (and answers fill theirs with NULL).
SELECT_CHILDREN = union_all(
    select(
        literal_column("'document'").label("child"),
        DOCUMENTS.c.id,
        DOCUMENTS.c.kind.label("name"),
        DOCUMENTS.c.storage_key.label("value"),
        *(DOCUMENTS.c[name] for name in DOCUMENT_FIELDS[1:]),
    ).where(DOCUMENTS.c.application_id == bindparam("key")),
    select(
        literal_column("'answer'"),
        ANSWERS.c.id,
        ANSWERS.c.field,
        ANSWERS.c.value,
        *(null() for _name in DOCUMENT_FIELDS[1:]),
    ).where(ANSWERS.c.application_id == bindparam("key")),
).order_by("child", "id")
# Answers read from a document and not yet confirmed are answer rows named "read:<step>": kept,
# purged and erased with the application's other answers.
PROPOSED = "read:"
INSERT_APPLICANT = insert(APPLICANTS)
UPDATE_APPLICANT = (
    update(APPLICANTS)
    .where(APPLICANTS.c.user_id == bindparam("key"), APPLICANTS.c.version == bindparam("seen"))
    .values({name: bindparam(name) for name in (*APPLICANT_FIELDS, "version")})
)
INSERT_APPLICATION = insert(APPLICATIONS)
UPDATE_APPLICATION = (
    update(APPLICATIONS)
    .where(APPLICATIONS.c.id == bindparam("key"), APPLICATIONS.c.version == bindparam("seen"))
    .values({name: bindparam(name) for name in (*APPLICATION_FIELDS, "version")})
)
INSERT_ANSWER = insert(ANSWERS)
UPDATE_ANSWER = (
    update(ANSWERS).where(ANSWERS.c.id == bindparam("key")).values(value=bindparam("value"))
)
DELETE_ANSWER = delete(ANSWERS).where(ANSWERS.c.id == bindparam("key"))
INSERT_DOCUMENT = insert(DOCUMENTS)
UPDATE_DOCUMENT = (
    update(DOCUMENTS)
    .where(DOCUMENTS.c.id == bindparam("key"))
    .values({name: bindparam(name) for name in DOCUMENT_FIELDS})
)
DELETE_DOCUMENT = delete(DOCUMENTS).where(DOCUMENTS.c.id == bindparam("key"))
DRAFT_STATUS = select(APPLICATIONS.c.status).where(APPLICATIONS.c.id == bindparam("key"))
DELETE_ANSWERS_OF = delete(ANSWERS).where(ANSWERS.c.application_id == bindparam("key"))
DELETE_DOCUMENTS_OF = delete(DOCUMENTS).where(DOCUMENTS.c.application_id == bindparam("key"))
DELETE_APPLICATION = delete(APPLICATIONS).where(APPLICATIONS.c.id == bindparam("key"))


@dataclass
class ApplicationSeen:
    """An application's rows as they were read: what a save compares against."""

    columns: dict[str, Any]
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ApplicantSeen:
    """An applicant's row, and their current application's rows, as they were read."""

    columns: dict[str, Any]
    application: ApplicationSeen | None = None


def load(connection: Connection, user_id: int) -> tuple[Applicant, ApplicantSeen] | None:
    """The applicant with their current application, and the rows they came from."""
    row = connection.execute(SELECT_APPLICANT, {"key": user_id}).mappings().first()
    if row is None:
        return None
    seen = ApplicantSeen({column.name: row[column.name] for column in APPLICANTS.c})
    application = None
    if row["app_id"] is not None:
        columns = {column.name: row[f"app_{column.name}"] for column in APPLICATIONS.c}
        seen.application = with_children(connection, columns)
        application = to_application(seen.application)
    applicant = Applicant(
        user_id=row["user_id"],
        application=application,
        version=row["version"],
        **{name: row[name] for name in APPLICANT_FIELDS[:-1]},
    )
    return applicant, seen


def load_application(connection: Connection, application_id: int) -> ApplicationSeen | None:
    """An application's row, answers and documents, as read."""
    row = connection.execute(SELECT_APPLICATION, {"key": application_id}).mappings().first()
    return with_children(connection, dict(row)) if row is not None else None


def with_children(connection: Connection, columns: dict[str, Any]) -> ApplicationSeen:
    """An application's row with its answers and documents, as read."""
    seen = ApplicationSeen(columns)
    for child in connection.execute(SELECT_CHILDREN, {"key": columns["id"]}).mappings():
        if child["child"] == "answer":
            seen.answers[child["name"]] = (child["id"], child["value"])
        else:
            document = {name: child[name] for name in DOCUMENT_FIELDS[1:]}
            document |= {"id": child["id"], "kind": child["name"], "storage_key": child["value"]}
            seen.documents[child["name"]] = document
    return seen


def to_application(seen: ApplicationSeen) -> Application:
    """The domain record of an application's rows."""
    row = seen.columns
    return Application(
        id=row["id"],
        category=row["category"],
        status=Status(row["status"]),
        answers={
            name: value
            for name, (_id, value) in seen.answers.items()
            if not name.startswith(PROPOSED)
        },
        proposed={
            name.removeprefix(PROPOSED): value
            for name, (_id, value) in seen.answers.items()
            if name.startswith(PROPOSED)
        },
        documents={
            kind: Document(kind=kind, **{name: d[name] for name in DOCUMENT_FIELDS})
            for kind, d in seen.documents.items()
        },
        skipped=set(row["skipped"] or ()),
        flags=[to_flag(raw) for raw in row["flags"] or ()],
        number=row["number"],
        created_at=row["created_at"],
        submitted_at=row["submitted_at"],
        user_id=row["user_id"],
        review=review_from_data(row["review"]),
        redo=set(row["redo"] or ()),
        version=row["version"],
        closed_at=row["closed_at"],
        purged_at=row["purged_at"],
    )


def to_flag(raw: dict[str, Any]) -> Flag:
    """A stored flag as the domain record."""
    return Flag(
        code=str(raw["code"]),
        applications=tuple(raw.get("applications") or ()),
        field=raw.get("field"),
        document=raw.get("document"),
        outcomes=tuple(raw.get("outcomes") or ()),
    )


def flag_data(flag: Flag) -> dict[str, Any]:
    """A flag as JSON-safe data (as it reads back from the database)."""
    return asdict(flag) | {
        "applications": list(flag.applications),
        "outcomes": list(flag.outcomes),
    }


def save(
    connection: Connection, applicant: Applicant, seen: ApplicantSeen | None, now: datetime
) -> None:
    """Write what changed since `seen` (None: a new applicant) of the applicant and their
    current application; a draft they left behind is deleted."""
    app = applicant.application
    previous_id = seen.columns["application_id"] if seen is not None else None
    application_id = None
    if app is not None:
        app_seen = seen.application if seen is not None else None
        if app_seen is None or app_seen.columns["id"] != app.id:
            app_seen = load_application(connection, app.id) if app.id is not None else None
        application_id = save_application(connection, applicant.user_id, app, app_seen, now)
    values = {name: getattr(applicant, name) for name in APPLICANT_FIELDS[:-1]}
    values["application_id"] = application_id
    try:
        if seen is None:
            connection.execute(
                INSERT_APPLICANT, {"user_id": applicant.user_id, "version": 1, **values}
            )
            applicant.version = 1
        elif any(seen.columns[name] != value for name, value in values.items()):
            version = seen.columns["version"]
            _update_once(
                connection,
                UPDATE_APPLICANT,
                {"key": applicant.user_id, "seen": version, "version": version + 1, **values},
            )
            applicant.version = version + 1
    except IntegrityError as exc:
        raise ConcurrentUpdateError(exc.__class__.__name__) from exc
    if previous_id is not None and previous_id != application_id:
        delete_if_draft(connection, previous_id)


def save_application(
    connection: Connection,
    user_id: int,
    app: Application,
    seen: ApplicationSeen | None,
    now: datetime,
) -> int:
    """Write what changed of the application since `seen` (None: a new one); returns its id."""
    closed_at = seen.columns["closed_at"] if seen is not None else None
    if app.status in DECIDED_STATUSES and closed_at is None:
        closed_at = now
    values: dict[str, Any] = {
        "number": app.number,
        "category": app.category,
        "status": app.status.value,
        "skipped": sorted(app.skipped),
        "flags": [flag_data(flag) for flag in app.flags],
        "submitted_at": app.submitted_at,
        "review": review_to_data(app.review),
        "redo": sorted(app.redo),
        "closed_at": closed_at,
    }
    try:
        if seen is None:
            created_at = app.created_at or now
            result = connection.execute(
                INSERT_APPLICATION,
                {"user_id": user_id, "created_at": created_at, "version": 1, **values},
            )
            inserted = result.inserted_primary_key
            assert inserted is not None
            application_id = int(inserted[0])
            version = 1
            children_changed = _save_children(connection, application_id, app, None)
        else:
            application_id = seen.columns["id"]
            version = seen.columns["version"]
            children_changed = _save_children(connection, application_id, app, seen)
            if children_changed or any(seen.columns[k] != v for k, v in values.items()):
                # A change of answers or documents also moves the version, so two workers
                # changing the same application cannot both succeed.
                params = {"key": application_id, "seen": version, "version": version + 1}
                _update_once(connection, UPDATE_APPLICATION, params | values)
                version += 1
    except IntegrityError as exc:
        raise ConcurrentUpdateError(exc.__class__.__name__) from exc
    app.id = application_id
    app.user_id = user_id
    app.version = version
    app.closed_at = closed_at
    if seen is None:
        app.created_at = app.created_at or now
    return application_id


def _save_children(
    connection: Connection, application_id: int, app: Application, seen: ApplicationSeen | None
) -> bool:
    """Insert, update and delete answer and document rows; True if any changed."""
    old_answers = seen.answers if seen is not None else {}
    old_documents = seen.documents if seen is not None else {}
    changed = False
    answers = app.answers | {PROPOSED + name: value for name, value in app.proposed.items()}
    for name, value in answers.items():
        old = old_answers.get(name)
        if old is None:
            connection.execute(
                INSERT_ANSWER, {"application_id": application_id, "field": name, "value": value}
            )
            changed = True
        elif old[1] != value:
            connection.execute(UPDATE_ANSWER, {"key": old[0], "value": value})
            changed = True
    for name, (answer_id, _value) in old_answers.items():
        if name not in answers:
            connection.execute(DELETE_ANSWER, {"key": answer_id})
            changed = True
    for kind, doc in app.documents.items():
        values = {name: getattr(doc, name) for name in DOCUMENT_FIELDS}
        old_doc = old_documents.get(kind)
        if old_doc is None:
            connection.execute(
                INSERT_DOCUMENT, {"application_id": application_id, "kind": kind, **values}
            )
            changed = True
        elif any(old_doc[name] != value for name, value in values.items()):
            connection.execute(UPDATE_DOCUMENT, {"key": old_doc["id"], **values})
            changed = True
    for kind, old_doc in old_documents.items():
        if kind not in app.documents:
            connection.execute(DELETE_DOCUMENT, {"key": old_doc["id"]})
            changed = True
    return changed


def _update_once(connection: Connection, statement: Any, params: dict[str, Any]) -> None:
    """Run a versioned UPDATE; no row matched means another worker changed it first."""
    if connection.execute(statement, params).rowcount != 1:
        raise ConcurrentUpdateError("StaleDataError")


def delete_if_draft(connection: Connection, application_id: int) -> None:
    """Delete an application, with its answers and documents, if it is still a draft."""
    status = connection.execute(DRAFT_STATUS, {"key": application_id}).scalar()
    if status != Status.DRAFT.value:
        return
    for statement in (DELETE_ANSWERS_OF, DELETE_DOCUMENTS_OF, DELETE_APPLICATION):
        connection.execute(statement, {"key": application_id})
