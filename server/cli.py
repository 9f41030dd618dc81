"""The ``vclient`` command."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from collections.abc import Sequence

from server.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from llm.catalog import CatalogError
    from server.logging_setup import uvicorn_log_config
    from server.models_setup import check_models

    try:  # one clear line instead of a traceback from each worker
        check_models(settings)
    except CatalogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    uvicorn.run(
        "server.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # The sans-I/O websockets implementation (uvicorn's default; named so an
        # upgrade cannot silently change it).
        ws="websockets-sansio",
        # Hard cap per frame; frames over FRAME_MAX_BYTES but under this get a polite
        # `error` event instead of a dropped connection.
        ws_max_size=max(settings.frame_max_bytes * 16, 1 << 20),
        ws_ping_interval=settings.ws_ping_seconds,
        ws_ping_timeout=settings.ws_ping_seconds,
        ws_per_message_deflate=settings.ws_compression,
        # SIGTERM: sockets close with 1012 at once (clients resume elsewhere); replies get
        # SHUTDOWN_GRACE_SECONDS in the lifespan shutdown (server.composition).
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        # Past MAX_CONNECTIONS, new connections get 503 rather than slowing all down.
        limit_concurrency=settings.max_connections,
        proxy_headers=True,
        log_config=uvicorn_log_config(settings.log_format, settings.log_level),
    )
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from storage.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.effective_database_url)
    print("database is up to date")
    return 0


async def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from server.passwords import hash_password
    from storage.db import Database
    from storage.errors import Duplicate
    from storage.repos import users as user_repo

    if len(args.password) < 10:
        print("error: the password needs at least 10 characters", file=sys.stderr)
        return 2
    db = Database(settings.effective_database_url)
    try:
        async with db.session() as s:
            user = await user_repo.create_user(
                s,
                email=args.email,
                name=args.name,
                role=args.role,
                password_hash=await hash_password(args.password),
            )
        print(f"created {user.role} {user.email} ({user.id})")
        return 0
    except Duplicate:
        print(f"error: a user with email {args.email} already exists", file=sys.stderr)
        return 1
    finally:
        await db.aclose()


async def _set_password(args: argparse.Namespace, settings: Settings) -> int:
    """Set a user's password and revoke their cookies (SQL) and open sockets (through the
    revocation channel, which reaches the web processes only over Redis)."""
    from realtime.backends import BackendUnavailable, make_revocations
    from realtime.revocation import UserRevoked
    from server.auth import PASSWORD_MIN_CHARS
    from server.passwords import hash_password
    from storage.db import Database
    from storage.repos import users as user_repo

    if len(args.password) < PASSWORD_MIN_CHARS:
        print(
            f"error: the password needs at least {PASSWORD_MIN_CHARS} characters", file=sys.stderr
        )
        return 2
    db = Database(settings.effective_database_url)
    try:
        async with db.session() as s:
            user = await user_repo.get_by_email(s, args.email)
            if user is None:
                print(f"error: no user with email {args.email}", file=sys.stderr)
                return 1
            password_hash = await hash_password(args.password)
            version = await user_repo.revoke_sessions(s, user.id, password_hash=password_hash)
    finally:
        await db.aclose()
    print(f"password set for {args.email}; every earlier login of theirs is signed out")
    if version is None or not settings.redis_url:
        # The in-process channel lives in the web process: its open sockets of this
        # user close when they reconnect (the handshake refuses the old cookie).
        return 0
    channel = make_revocations(settings.redis_url, settings.redis_key_prefix)
    try:
        await channel.publish(UserRevoked(user.id, below=version))
    except BackendUnavailable as error:
        print(f"warning: open sockets not closed now (Redis: {error})", file=sys.stderr)
    finally:
        await channel.aclose()
    return 0


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from server.demo import seed_demo
    from storage.db import Database

    db = Database(settings.effective_database_url)
    try:
        result = await seed_demo(db, settings)
    finally:
        await db.aclose()
    base = args.base_url.rstrip("/")
    if not result.created:
        print("demo: the database already has users; nothing seeded")
        return 0
    print("demo data created")
    print(f"  teacher login:  {base}/teacher  email {result.email}  password {result.password}")
    print(f"  student link:   {base}{result.join_path}")
    return 0


async def _files_cleanup(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from filestore import StoreUnavailable, make_file_store
    from server.file_store import file_store_config
    from server.files_cleanup import print_report, run_cleanup
    from storage.db import Database

    grace = timedelta(seconds=settings.files_cleanup_grace_seconds)
    try:
        store = make_file_store(file_store_config(settings))
    except ValueError as error:  # FILE_STORE=s3 without its settings
        print(f"error: {error}", file=sys.stderr)
        return 2
    db = Database(settings.effective_database_url)
    try:
        report = await run_cleanup(db, store, grace=grace, dry_run=args.dry_run)
    except StoreUnavailable as error:
        print(f"error: the file store did not answer: {error}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()
        await db.aclose()
    print_report(report, grace, sys.stdout)
    return 1 if report.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vclient", description="Virtual Client server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")

    user = sub.add_parser("create-user", help="create a teacher or admin account")
    user.add_argument("--role", choices=["teacher", "admin"], default="teacher")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--password", required=True)

    password = sub.add_parser(
        "set-password", help="set a user's password and sign out their every login"
    )
    password.add_argument("--email", required=True)
    password.add_argument("--password", required=True)

    sub.add_parser("watchdog", help="expire sessions on time, tokens and idleness")
    sub.add_parser("flusher", help="write transcripts from the live log to SQL")

    demo = sub.add_parser("demo", help="seed demo data into an empty database")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")

    files = sub.add_parser("files", help="case-file storage maintenance")
    files_sub = files.add_subparsers(dest="files_command", required=True)
    cleanup = files_sub.add_parser(
        "cleanup",
        help="remove stored objects no file row names (older than the grace period) and "
        "report rows whose object is missing; safe while the app serves",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="list, remove nothing")

    skills = sub.add_parser("skills", help="interviewing-skill coding (no LLM)")
    skills_sub = skills.add_subparsers(dest="skills_command", required=True)
    classify = skills_sub.add_parser(
        "classify",
        help="code each student turn of a JSON-lines transcript ({role, text} per line)",
    )
    classify.add_argument("file", help="the transcript; - reads standard input")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "skills":  # pure: needs no settings, database or key
        from skills.cli import classify_main

        return classify_main([args.file], sys.stdout)
    settings = Settings()
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings))
    if args.command == "create-user":
        return asyncio.run(_create_user(args, settings))
    if args.command == "set-password":
        return asyncio.run(_set_password(args, settings))
    if args.command == "demo":
        return asyncio.run(_demo(args, settings))
    if args.command == "files":
        return asyncio.run(_files_cleanup(args, settings))
    if args.command in ("watchdog", "flusher"):
        from server.composition import run_flusher_process, run_watchdog_process
        from server.logging_setup import configure_logging
        from server.metrics_server import MetricsPortUnavailable

        configure_logging(settings.log_format, settings.log_level)
        run = run_watchdog_process if args.command == "watchdog" else run_flusher_process
        try:
            return asyncio.run(run(settings))
        except MetricsPortUnavailable as error:
            print(f"error: {error}")
            return 2
    raise AssertionError(args.command)


if __name__ == "__main__":
    raise SystemExit(main())
