"""The cardbot command line: run, chat, dialogs, export, audit, prescreen, faq, roles, purge,
documents, report, db.

Every command ends, on bad input or configuration, with one line on stderr (`cardbot: …`) and
a non-zero status, never a traceback; a reader that goes away (`cardbot chat | head -1`) ends
it quietly.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence
from datetime import date
from importlib import metadata
from pathlib import Path

from cardbot.config import ConfigError, Settings, load_settings
from cardbot.console import CONSOLE_USER_ID, UsageError, one_line
from cardbot.content.loader import ContentError
from cardbot.report.cli import add_parser as report_parser

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a tool its reader left


def _version() -> str:
    """The installed cardbot's version."""
    try:
        return metadata.version("cardbot")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


_CHAT_INPUT = """\
what a line does:
  /start, /lang, /help …   a command (a slash, then a command name)
  #1, #2 …                 press a button of the last message
  PATH [PATH …]            upload the files (several on one line: an album); quote a path
                           with spaces ('back side.jpg'), or write /file PATH
  anything else            a typed answer or a question

A line is taken for file paths when each of its words names an existing file, ends in
a file extension (.jpg .jpeg .png .pdf …), or starts with /, ./, ../ or ~/ and has a
further / in it (/tmp/id.jpg; /start has none). Unless every file exists, such a line
never reaches the bot: the terminal answers "file not found: PATH".
Ctrl-D (end of input) quits."""

_CHAT = """\
Talk to cardbot in this terminal as one applicant, with no Telegram token: the same
conversation, kept in the same database (CARDBOT_DATA_DIR or CARDBOT_DATABASE_URL), so
it continues where it stopped. Reads plain lines from stdin, so it can be scripted."""

_RUN = """\
Run the bot on Telegram. Needs CARDBOT_TOKEN, the bot token from @BotFather; every
CARDBOT_* setting is described in the README. Receives updates by long polling, or with
--webhook through a web server Telegram posts them to (CARDBOT_PUBLIC_URL). All settings
are checked, and the token is tried on the Bot API server (CARDBOT_BOT_API_URL), before
anything is written to CARDBOT_DATA_DIR; database migrations are applied at start-up.
SIGTERM finishes the updates in flight, then exits. Exit status 2: a setting is missing
or wrong (one line on stderr says which)."""


def build_parser() -> argparse.ArgumentParser:
    """The `cardbot` argument parser, every subcommand with a description."""
    parser = argparse.ArgumentParser(
        prog="cardbot",
        description="Telegram assistant for telemarketing SIM card review.",
        epilog="Settings come from CARDBOT_* environment variables (see the README); "
        "a missing or malformed one stops the command with one line on stderr and exit 2.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    run = commands.add_parser(
        "run",
        help="run the bot on Telegram (needs CARDBOT_TOKEN; long polling or --webhook)",
        description=_RUN,
        formatter_class=raw,
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook at CARDBOT_PUBLIC_URL instead of long polling",
    )

    chat = commands.add_parser(
        "chat",
        help="talk to cardbot in this terminal, no token needed",
        description=_CHAT,
        epilog=_CHAT_INPUT,
        formatter_class=raw,
    )
    chat.add_argument(
        "--lang",
        choices=("zh", "en"),
        help="the language a new applicant starts in, as Telegram's app language would set "
        "it (default zh); /lang in the chat changes it, and that choice is kept for this user",
    )
    chat.add_argument(
        "--user",
        type=_user_id,
        default=CONSOLE_USER_ID,
        metavar="ID",
        help=f"the Telegram user id to chat as (default {CONSOLE_USER_ID}); another id is "
        "another applicant, with an application of their own",
    )

    dialogs = commands.add_parser(
        "dialogs",
        help="check or draw the dialog flow",
        description="Check the dialogs/ folder (CARDBOT_DIALOGS_DIR) or draw its flow.",
    )
    dialog_commands = dialogs.add_subparsers(
        dest="dialogs_command", required=True, metavar="COMMAND"
    )
    dialog_commands.add_parser(
        "check",
        help="validate dialogs/ (flow, templates, labels)",
        description="Validate dialogs/: the flow, every template and label in both "
        "languages. Exit 0 when all is well, 1 with one problem per line on stderr.",
    )
    diagram = dialog_commands.add_parser(
        "diagram",
        help="write the flow as a Mermaid diagram",
        description="Write the application flow as a Mermaid state diagram, to stdout or to FILE.",
    )
    diagram.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    export = commands.add_parser(
        "export",
        help="write an application as a package folder",
        description="Write an application as a package folder: DIR/manifest.json and "
        "DIR/documents/*. DIR must be new or empty. Exit 1 when there is no such application.",
    )
    export.add_argument("number", help="application number, e.g. DX-2026-000123")
    export.add_argument("folder", type=Path, metavar="DIR", help="new or empty folder to write")

    audit = commands.add_parser(
        "audit",
        help="print an application's history",
        description="Print an application's history, oldest first: submitted, claimed, "
        "noted, decided, resubmitted, notified… with who and when. Exit 1 when there is none.",
    )
    audit.add_argument("number", help="application number, e.g. DX-2026-000123")
    audit.add_argument("--json", action="store_true", help="one JSON object per event")

    prescreen = commands.add_parser(
        "prescreen",
        help="check a package folder",
        description="Check a package folder (DIR/manifest.json and its documents) as the bot "
        "checks an application: every answer and file, and flags against the configured "
        "database when there is one.",
        epilog="exit status:\n  0  the package is complete\n  1  problems were found "
        "(listed on stdout)\n  2  the folder cannot be read",
        formatter_class=raw,
    )
    prescreen.add_argument("folder", type=Path, metavar="DIR", help="folder with manifest.json")
    prescreen.add_argument("--json", action="store_true", help="print one JSON object")
    prescreen.add_argument("--lang", choices=("zh", "en"), default="zh", help="message language")
    prescreen.add_argument(
        "--on",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="judge ages as of this day (default: today, China time)",
    )

    faq = commands.add_parser(
        "faq",
        help="ask, export or check the FAQ",
        description="Ask the FAQ a question, export its current entries, or check a faq/ folder.",
    )
    faq_commands = faq.add_subparsers(dest="faq_command", required=True, metavar="COMMAND")
    ask = faq_commands.add_parser(
        "ask",
        help="answer a question (or one per line of stdin)",
        description="Answer one question with the current FAQ (staff edits included), or "
        "one per line of stdin.",
    )
    ask.add_argument("question", nargs="?", help="the question; without it, read stdin")
    ask.add_argument("--lang", choices=("zh", "en"), default="zh", help="answer language")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    faq_export = faq_commands.add_parser(
        "export",
        help="write the current entries to DIR",
        description="Write the current entries, staff edits included, to DIR in the faq/ "
        "format (one YAML file per entry), with the negative examples.",
    )
    faq_export.add_argument("folder", type=Path, metavar="DIR", help="folder to write")
    faq_check = faq_commands.add_parser(
        "check",
        help="validate a faq/ folder",
        description="Validate a faq/ folder: unique ids, both languages, every answer "
        "renders. Exit 0 when all is well, 1 with one problem per line on stderr.",
    )
    faq_check.add_argument(
        "folder", type=Path, nargs="?", metavar="DIR", help="default: CARDBOT_FAQ_DIR"
    )

    roles = commands.add_parser(
        "roles",
        help="grant, revoke or list staff and reviewer roles",
        description="Grant, revoke or list the staff and reviewer roles (admins are "
        "CARDBOT_ADMIN_IDS).",
    )
    roles_commands = roles.add_subparsers(dest="roles_command", required=True, metavar="COMMAND")
    for action in ("grant", "revoke"):
        change = roles_commands.add_parser(
            action,
            help=f"{action} a role",
            description=f"{action.capitalize()} the staff or reviewer role of a Telegram user.",
        )
        change.add_argument("user_id", type=int, help="Telegram user id")
        change.add_argument("role", choices=("staff", "reviewer"))
    roles_commands.add_parser(
        "list",
        help="list admins and granted roles",
        description="List the admins (CARDBOT_ADMIN_IDS) and every granted role.",
    )

    purge = commands.add_parser(
        "purge",
        help="delete personal data of applications closed longer than the retention",
        description="Delete the answers and files of applications closed more than "
        "CARDBOT_RETENTION_DAYS ago, as the running bot does every hour.",
    )
    purge.add_argument("--json", action="store_true", help="print the result as JSON")

    documents = commands.add_parser(
        "documents",
        help="move or re-encrypt stored documents",
        description="Move the stored documents between the folder and the database store, "
        "or re-encrypt them with a new key.",
    )
    document_commands = documents.add_subparsers(
        dest="documents_command", required=True, metavar="COMMAND"
    )
    move = document_commands.add_parser(
        "migrate",
        help="move every document from one store to the other (stop cardbot first)",
        description="Move every document from one store to the other, each checked against "
        "its SHA-256; nothing is deleted from the source unless all arrived. Stop cardbot "
        "first; safe to run again.",
    )
    move.add_argument("source", choices=("folder", "database"), help="the store they are in")
    move.add_argument("target", choices=("folder", "database"), help="the store to move to")
    document_commands.add_parser(
        "rekey",
        help="re-encrypt every document from CARDBOT_OLD_SECRET_KEY to CARDBOT_SECRET_KEY",
        description="Re-encrypt every document from CARDBOT_OLD_SECRET_KEY to "
        "CARDBOT_SECRET_KEY; safe to run again after an interruption.",
    )

    report_parser(commands)

    database = commands.add_parser(
        "db",
        help="database schema",
        description="Manage the database schema (CARDBOT_DATABASE_URL).",
    )
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser(
        "upgrade",
        help="apply every pending migration",
        description="Apply every pending database migration (cardbot run also does at start-up).",
    )
    return parser


def _user_id(text: str) -> int:
    """A Telegram-like user id given on the command line."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value < 2**52:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a user id: give a positive whole number such as 1002"
        )
    return value


def _configure_logging(settings: Settings) -> None:
    from cardbot.logs import configure_logging

    configure_logging(as_json=settings.log_format == "json")


def _run(settings: Settings, *, webhook: bool = False) -> int:
    from telegram.error import InvalidToken, NetworkError

    from cardbot.process_memory import limit_malloc_arenas
    from cardbot.runtime import build_runtime, load_content
    from cardbot.telegram.bot import build_application
    from cardbot.telegram.jobs import background_jobs
    from cardbot.telegram.polling import run_until_signalled

    # Everything that can be found wrong without writing is checked first: the settings (by
    # load_settings), the content, then the token on the Bot API server; only then are the
    # data folder, the document key and the database made.
    settings.require_token()
    if webhook:
        settings.require_public_url()
    limit_malloc_arenas()  # before the handler threads start (see docs/performance.md)
    _configure_logging(settings)
    content = load_content(settings)
    try:
        _check_token(settings)
        runtime = build_runtime(settings, content=content)
        try:
            application = build_application(runtime)
            jobs = background_jobs(runtime, application)
            _freeze_startup_objects()
            logging.getLogger("cardbot").info(
                "cardbot %s started: %s",
                _version(),
                "updates by webhook" if webhook else "long polling",
            )
            if webhook or settings.metrics_listen is not None:
                from cardbot.telegram import webhook as served

                served.run_until_signalled(application, runtime, jobs, webhook=webhook)
            else:
                run_until_signalled(application, runtime.inbox, jobs, metrics=runtime.metrics)
        finally:
            runtime.close()
    except InvalidToken:
        raise ConfigError(
            "the Bot API server rejected CARDBOT_TOKEN: copy the token again from @BotFather"
        ) from None
    except NetworkError as exc:
        raise ConfigError(
            f"cannot reach the Bot API server at CARDBOT_BOT_API_URL ({settings.bot_api_url}): "
            f"{exc.__class__.__name__}"
        ) from None
    return 0


def _check_token(settings: Settings) -> None:
    """Ask the Bot API server whether it knows the token (getMe); raises InvalidToken or
    NetworkError as the running bot would, but before anything is written."""
    import asyncio

    from telegram import Bot

    async def ask() -> None:
        bot = Bot(
            settings.require_token(),
            base_url=f"{settings.bot_api_url}/bot",
            base_file_url=f"{settings.bot_api_url}/file/bot",
        )
        async with bot:  # initialising a Bot calls getMe
            pass

    asyncio.run(ask())


def _freeze_startup_objects() -> None:
    """Keep what start-up loaded (libraries, dialogs, FAQ, pinyin and holiday tables) out of
    the garbage collector's full passes, which otherwise walk it all: about 80 ms, stalling
    every update in flight, whenever one runs."""
    gc.collect()
    gc.freeze()


def _chat(settings: Settings, lang: str | None, user_id: int) -> int:
    from cardbot.console.chat import ConsoleChat
    from cardbot.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        core = runtime.terminal_core()
        reader = runtime.prefill_reader(core.handle)
        chat = ConsoleChat(
            core,
            runtime.renderer,
            sys.stdout,
            user_id=user_id,
            language_code=lang,
            after_upload=reader.read_and_propose if reader is not None else None,
        )
        chat.run(sys.stdin)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0


def _dialogs(settings: Settings, args: argparse.Namespace) -> int:
    from cardbot.content.check import check_content
    from cardbot.content.loader import load_spec
    from cardbot.core.flow import mermaid_diagram

    if args.dialogs_command == "check":
        problems = check_content(settings.dialogs_dir)
        for problem in problems:
            print(one_line(problem), file=sys.stderr)
        if problems:
            return 1
        print(f"{settings.dialogs_dir}: ok")
        return 0
    if args.output:
        _check_output_file(args.output)
    diagram = mermaid_diagram(load_spec(settings.dialogs_dir))
    if args.output:
        args.output.write_text(diagram, encoding="utf-8")
    else:
        sys.stdout.write(diagram)
    return 0


def _check_output_file(path: Path) -> None:
    """Raise UsageError unless `path` can be written as a file."""
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        why = f"{folder} is not a folder" if folder.exists() else f"there is no folder {folder}"
        raise UsageError(f"cannot write {path}: {why}")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def _check_output_folder(path: Path) -> None:
    """Raise UsageError unless `path` is a folder, or can be made one, that may be written."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"cannot write to {path}: it exists and is not a folder")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"cannot create {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to {existing}: permission denied")


def _os_problem(exc: OSError) -> str:
    """One line for a failed file operation: the path, then why, as Unix tools say it."""
    reason = exc.strerror or str(exc) or exc.__class__.__name__
    if exc.filename is None:
        return reason
    return f"{os.fsdecode(exc.filename)}: {reason}"


def _database_problem(exc: Exception, settings: Settings | None) -> str | None:
    """One line for a database that cannot be used, or None when the error is not one (a bug,
    or not a database error at all). SQLAlchemy is looked at only when it was loaded, so that
    `cardbot --help` and commands without a database start without it."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import (
        DatabaseError,
        DataError,
        IntegrityError,
        InternalError,
        NotSupportedError,
        ProgrammingError,
    )

    if not isinstance(exc, DatabaseError):
        return None
    original = exc.orig
    if "no such table" in str(original) or getattr(original, "sqlstate", None) == "42P01":
        return (
            "the database given by CARDBOT_DATABASE_URL has no cardbot tables yet (or is "
            "from an older version): run `cardbot db upgrade`"
        )
    # Errors that say the SQL or the data is wrong, not the database: a traceback helps there.
    if isinstance(
        exc, (IntegrityError, ProgrammingError, DataError, InternalError, NotSupportedError)
    ):
        return None
    # OperationalError, or a plain DatabaseError such as SQLite's "file is not a database"
    if isinstance(original, sqlite3.Error) and settings is not None:
        where = make_url(settings.database_url).database
        return f"cannot use the SQLite database {where} (CARDBOT_DATABASE_URL): {original}"
    return (
        f"cannot use the database given by CARDBOT_DATABASE_URL "
        f"({original.__class__.__name__ if original else 'error'}): check that it is "
        "running and reachable"
    )


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (inside tests): nothing to flush
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run one cardbot command; bad input or configuration prints one line and exits 2."""
    args = build_parser().parse_args(argv)
    if argv is None:  # a cardbot process: what it writes (database, exports) is its owner's only
        os.umask(0o077)
    settings: Settings | None = None
    try:
        settings = load_settings()
        status = _command(settings, args)
        sys.stdout.flush()  # a reader that went away (`| head -1`) shows here, not at exit
        return status
    except BrokenPipeError:  # the reader stopped: say nothing more, as Unix tools do
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (ConfigError, ContentError, UsageError) as exc:
        problem = str(exc)
    except OSError as exc:
        problem = _os_problem(exc)
    except Exception as exc:
        database_problem = _database_problem(exc, settings)
        if database_problem is None:
            raise
        problem = database_problem
    print(f"cardbot: {one_line(problem)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _command(settings: Settings, args: argparse.Namespace) -> int:
    """Run the command the arguments name."""
    if args.command == "run":
        return _run(settings, webhook=args.webhook)
    if args.command == "chat":
        return _chat(settings, args.lang, args.user)
    if args.command == "dialogs":
        return _dialogs(settings, args)
    if args.command == "export":
        from cardbot.commands import export_package

        _check_output_folder(args.folder)
        return export_package(settings, args.number, args.folder)
    if args.command == "audit":
        from cardbot.commands import print_audit

        return print_audit(settings, args.number, as_json=args.json)
    if args.command == "documents":
        from cardbot import commands as records

        if args.documents_command == "migrate":
            return records.migrate_documents(settings, args.source, args.target)
        return records.rekey_documents(settings, os.environ.get("CARDBOT_OLD_SECRET_KEY"))
    if args.command == "purge":
        from cardbot.commands import purge_now

        return purge_now(settings, as_json=args.json)
    if args.command == "prescreen":
        from cardbot.prescreen_command import prescreen_folder

        return prescreen_folder(
            settings, args.folder, as_json=args.json, language=args.lang, on=args.on
        )
    if args.command == "faq":
        from cardbot import admin_commands

        if args.faq_command == "ask":
            return admin_commands.faq_ask(
                settings, args.question, language=args.lang, as_json=args.json
            )
        if args.faq_command == "export":
            _check_output_folder(args.folder)
            return admin_commands.faq_export(settings, args.folder)
        return admin_commands.faq_check(settings, args.folder)
    if args.command == "roles":
        from cardbot.admin_commands import roles_command

        return roles_command(
            settings,
            args.roles_command,
            getattr(args, "user_id", None),
            getattr(args, "role", None),
        )
    if args.command == "report":
        from cardbot.report.cli import run_report

        return run_report(settings, args)
    if args.command == "db":
        from cardbot.db.migrate import upgrade

        upgrade(settings.database_url)
        print("database is up to date")
        return 0
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
