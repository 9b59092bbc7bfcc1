"""The cardbot command line: run, chat, dialogs check|diagram, db upgrade."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.exc import OperationalError

from cardbot.config import ConfigError, Settings, load_settings
from cardbot.content.check import check_content
from cardbot.content.loader import ContentError, load_spec
from cardbot.core.flow import mermaid_diagram


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardbot", description="Telegram assistant for telemarketing SIM card review."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the bot on Telegram (long polling or --webhook)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook at CARDBOT_PUBLIC_URL instead of long polling",
    )
    chat = commands.add_parser("chat", help="talk to cardbot in this terminal, no token needed")
    chat.add_argument("--lang", choices=("zh", "en"), help="language to start in")
    dialogs = commands.add_parser("dialogs", help="check or draw the dialog flow")
    dialog_commands = dialogs.add_subparsers(dest="dialogs_command", required=True)
    dialog_commands.add_parser("check", help="validate dialogs/ (flow, templates, labels)")
    diagram = dialog_commands.add_parser("diagram", help="write the flow as a Mermaid diagram")
    diagram.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export = commands.add_parser("export", help="write an application as a package folder")
    export.add_argument("number", help="application number, e.g. DX-2026-000123")
    export.add_argument("folder", type=Path, help="new or empty folder to write")
    audit = commands.add_parser("audit", help="print an application's history")
    audit.add_argument("number", help="application number, e.g. DX-2026-000123")
    audit.add_argument("--json", action="store_true", help="one JSON object per event")
    prescreen = commands.add_parser("prescreen", help="check a package folder")
    prescreen.add_argument("folder", type=Path, help="folder with manifest.json")
    prescreen.add_argument("--json", action="store_true", help="print one JSON object")
    prescreen.add_argument("--lang", choices=("zh", "en"), default="zh", help="message language")
    prescreen.add_argument(
        "--on",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="judge ages as of this day (default: today, China time)",
    )
    faq = commands.add_parser("faq", help="ask, export or check the FAQ")
    faq_commands = faq.add_subparsers(dest="faq_command", required=True)
    ask = faq_commands.add_parser("ask", help="answer a question (or one per line of stdin)")
    ask.add_argument("question", nargs="?", help="the question; without it, read stdin")
    ask.add_argument("--lang", choices=("zh", "en"), default="zh", help="answer language")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    faq_export = faq_commands.add_parser("export", help="write the current entries to DIR")
    faq_export.add_argument("folder", type=Path)
    faq_check = faq_commands.add_parser("check", help="validate a faq/ folder")
    faq_check.add_argument("folder", type=Path, nargs="?", help="default: CARDBOT_FAQ_DIR")
    roles = commands.add_parser("roles", help="grant, revoke or list staff and reviewer roles")
    roles_commands = roles.add_subparsers(dest="roles_command", required=True)
    for action in ("grant", "revoke"):
        change = roles_commands.add_parser(action, help=f"{action} a role")
        change.add_argument("user_id", type=int, help="Telegram user id")
        change.add_argument("role", choices=("staff", "reviewer"))
    roles_commands.add_parser("list", help="list admins and granted roles")
    purge = commands.add_parser(
        "purge", help="delete personal data of applications closed longer than the retention"
    )
    purge.add_argument("--json", action="store_true", help="print the result as JSON")
    documents = commands.add_parser("documents", help="move or re-encrypt stored documents")
    document_commands = documents.add_subparsers(dest="documents_command", required=True)
    move = document_commands.add_parser(
        "migrate", help="move every document from one store to the other (stop cardbot first)"
    )
    move.add_argument("source", choices=("folder", "database"), help="the store they are in")
    move.add_argument("target", choices=("folder", "database"), help="the store to move to")
    document_commands.add_parser(
        "rekey",
        help="re-encrypt every document from CARDBOT_OLD_SECRET_KEY to CARDBOT_SECRET_KEY",
    )
    database = commands.add_parser("db", help="database schema")
    db_commands = database.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every pending migration")
    return parser


def _configure_logging(settings: Settings) -> None:
    from cardbot.logs import configure_logging

    configure_logging(as_json=settings.log_format == "json")


def _run(settings: Settings, *, webhook: bool = False) -> int:
    from telegram.error import InvalidToken, NetworkError

    from cardbot.runtime import build_runtime
    from cardbot.telegram.bot import build_application
    from cardbot.telegram.jobs import background_jobs
    from cardbot.telegram.polling import run_until_signalled

    settings.require_token()
    if webhook:
        settings.require_public_url()
    settings.ensure_data_dir()
    _configure_logging(settings)
    runtime = build_runtime(settings)
    try:
        application = build_application(runtime)
        jobs = background_jobs(runtime, application)
        _freeze_startup_objects()
        if webhook or settings.metrics_listen is not None:
            from cardbot.telegram import webhook as served

            served.run_until_signalled(application, runtime, jobs, webhook=webhook)
        else:
            run_until_signalled(application, runtime.inbox, jobs, metrics=runtime.metrics)
    except InvalidToken:
        raise ConfigError(
            "the Bot API server rejected CARDBOT_TOKEN: copy the token again from @BotFather"
        ) from None
    except NetworkError as exc:
        raise ConfigError(
            f"cannot reach the Bot API server at CARDBOT_BOT_API_URL ({settings.bot_api_url}): "
            f"{exc.__class__.__name__}"
        ) from None
    finally:
        runtime.close()
    return 0


def _freeze_startup_objects() -> None:
    """Keep what start-up loaded (libraries, dialogs, FAQ, pinyin and holiday tables) out of
    the garbage collector's full passes, which otherwise walk it all: about 80 ms, stalling
    every update in flight, whenever one runs."""
    gc.collect()
    gc.freeze()


def _chat(settings: Settings, lang: str | None) -> int:
    from cardbot.console.chat import ConsoleChat
    from cardbot.runtime import build_runtime

    settings.ensure_data_dir()
    runtime = build_runtime(settings)
    try:
        chat = ConsoleChat(runtime.service, runtime.renderer, sys.stdout, language_code=lang)
        chat.run(sys.stdin)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0


def _dialogs(settings: Settings, args: argparse.Namespace) -> int:
    if args.dialogs_command == "check":
        problems = check_content(settings.dialogs_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{settings.dialogs_dir}: ok")
        return 0
    diagram = mermaid_diagram(load_spec(settings.dialogs_dir))
    if args.output:
        args.output.write_text(diagram, encoding="utf-8")
    else:
        sys.stdout.write(diagram)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one cardbot command; a configuration problem prints one line and exits 2."""
    args = _parser().parse_args(argv)
    if argv is None:  # a cardbot process: what it writes (database, exports) is its owner's only
        os.umask(0o077)
    try:
        settings = load_settings()
        if args.command == "run":
            return _run(settings, webhook=args.webhook)
        if args.command == "chat":
            return _chat(settings, args.lang)
        if args.command == "dialogs":
            return _dialogs(settings, args)
        if args.command == "export":
            from cardbot.commands import export_package

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
            from cardbot.commands import prescreen_folder

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
        if args.command == "db":
            from cardbot.db.migrate import upgrade

            upgrade(settings.database_url)
            print("database is up to date")
            return 0
    except (ConfigError, ContentError) as exc:
        print(f"cardbot: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(
            f"cardbot: cannot use the database given by CARDBOT_DATABASE_URL "
            f"({exc.orig.__class__.__name__ if exc.orig else 'error'}): check that it is "
            "running and reachable",
            file=sys.stderr,
        )
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
