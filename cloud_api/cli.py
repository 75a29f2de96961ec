"""posline-cloud: serve (one process or --workers N), migrate, create-shop, attach-shop, owner-password."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import socket
import sys
from typing import Any

from sqlalchemy import select

from .app import create_app
from .service.cli import run_cli
from .database import create_engine, migrate, resolve_db_url
from .demo_shop import seed_demo_catalog
from .service.errors import ServiceError
from .service.serving import run_service
from .service.workers import bind_port, listen, run_workers
from .settings import CloudSettings
from . import schema
from .owners import Owner, attach_shop, create_owner, normal_login, owner_by_login, set_password
from .shops import create_shop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posline-cloud", description="POS Line cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the cloud API (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--db", help="sqlite:///file.db or postgresql://... (default $POSLINE_CLOUD_DB)")
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes sharing the port (default 1: serve in this process)")
    # Set by the parent of --workers on each worker it starts: migrations already ran, and the socket
    # the parent bound and listens on is this process's descriptor --fd.
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    mig = sub.add_parser("migrate", help="bring the database schema up to date")
    mig.add_argument("--db")
    shop = sub.add_parser("create-shop", help="create a shop; prints shop_id, owner_token, enrol_token")
    shop.add_argument("--name", required=True)
    shop.add_argument("--timezone", default="Asia/Karachi")
    shop.add_argument("--demo", action="store_true", help="also seed the demo catalog and a cashier")
    shop.add_argument("--owner", help="the owner's phone number or email: the shop joins that owner's "
                                      "back office (the account is made on first use)")
    shop.add_argument("--owner-password", help="the new owner's password (default $POSLINE_OWNER_PASSWORD); "
                                               "not needed to add a shop to an existing owner")
    shop.add_argument("--db")
    attach = sub.add_parser("attach-shop", help="put an existing shop in an owner's back office "
                                                "(the account is made on first use)")
    attach.add_argument("--shop-id", required=True)
    attach.add_argument("--owner", required=True, help="phone number or email")
    attach.add_argument("--owner-password", help="the new owner's password (default $POSLINE_OWNER_PASSWORD)")
    attach.add_argument("--move", action="store_true",
                        help="take the shop from the owner who holds it now (refused without this)")
    attach.add_argument("--db")
    pw = sub.add_parser("owner-password", help="set an owner's back-office password (ends their sessions)")
    pw.add_argument("--owner", required=True, help="phone number or email")
    pw.add_argument("--password", help="default $POSLINE_OWNER_PASSWORD")
    pw.add_argument("--db")
    return parser


async def _migrate(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _create_shop(db_url: str, name: str, timezone: str, demo: bool, owner_login: str | None,
                       owner_password: str | None, typed: bool = False) -> dict[str, Any]:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            # Checked before the shop is made, so a bad login or password leaves nothing behind.
            owner = await _owner(conn, owner_login, owner_password, typed) if owner_login else None
            shop = await create_shop(conn, name, timezone)
            out: dict[str, Any] = {"shop_id": shop.shop_id, "owner_token": shop.owner_token,
                                   "enrol_token": shop.enrol_token}
            if owner is not None:
                await attach_shop(conn, owner.owner_id, shop.shop_id)
                out["owner_login"] = owner.login
            if demo:
                out.update(await seed_demo_catalog(conn, shop.shop_id))
        return out
    finally:
        await engine.dispose()


async def _owner(conn: Any, login: str, password: str | None, typed: bool = False) -> Owner:
    """The owner with this login, made on first use (which needs a password).

    A password typed on the command line (`typed`) for an owner who already has one is refused, not
    ignored: the installer would believe it set, and the owner could not sign in with it.
    """
    owner = await owner_by_login(conn, login)
    if owner is not None and typed:
        raise ServiceError(f"{owner.login} already has an account and a password: leave out --owner-password "
                           "(`posline-cloud owner-password` changes it)")
    if owner is None:
        if not password:
            raise ServiceError(f"{normal_login(login)} has no account yet: give --owner-password "
                               "(or $POSLINE_OWNER_PASSWORD) to make it")
        owner = await create_owner(conn, login, password)
    return owner


async def _attach_shop(db_url: str, shop_id: str, login: str, password: str | None, move: bool = False) -> str:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            s, o = schema.shops.c, schema.owners.c
            shop = (await conn.execute(select(s.id, o.id.label("owner_id"), o.login)
                                       .select_from(schema.shops.outerjoin(schema.owners, o.id == s.owner_id))
                                       .where(s.id == shop_id))).first()
            if shop is None:
                raise ServiceError(f"no shop {shop_id}")
            owner = await _owner(conn, login, password)
            if shop.owner_id is not None and shop.owner_id != owner.owner_id and not move:
                # Checked after _owner (which may make the account) but in the same transaction: refused, nothing stays.
                raise ServiceError(f"shop {shop_id} is held by {shop.login}: give --move to take it from them")
            await attach_shop(conn, owner.owner_id, shop_id)
            return owner.login
    finally:
        await engine.dispose()


async def _owner_password(db_url: str, login: str, password: str) -> str:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            owner = await owner_by_login(conn, login)
            if owner is None:
                raise ServiceError(f"no owner {normal_login(login)}")
            await set_password(conn, owner.owner_id, password)
            return owner.login
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command != "serve":
        # An installer's command answers in one line (or its error does): no migration chatter first.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return run_cli("posline-cloud", lambda: _run(args))


def _run(args: argparse.Namespace) -> None:
    db_url = resolve_db_url(args.db)
    if args.command == "migrate":
        asyncio.run(_migrate(db_url))
        print("database is up to date")
    elif args.command == "create-shop":
        if not args.name.strip():
            raise ServiceError("--name must not be empty")
        print(json.dumps(asyncio.run(_create_shop(db_url, args.name.strip(), args.timezone, args.demo, args.owner,
                                                  args.owner_password or os.environ.get("POSLINE_OWNER_PASSWORD"),
                                                  typed=bool(args.owner_password)))))
    elif args.command == "attach-shop":
        login = asyncio.run(_attach_shop(db_url, args.shop_id, args.owner,
                                         args.owner_password or os.environ.get("POSLINE_OWNER_PASSWORD"), args.move))
        print(f"shop {args.shop_id} is in the back office of {login}")
    elif args.command == "owner-password":
        password = args.password or os.environ.get("POSLINE_OWNER_PASSWORD")
        if not password and sys.stdin.isatty():
            # Asked for, not typed on the command line: it stays out of the shell's history and `ps`.
            password = getpass.getpass("New password: ")
            if password != getpass.getpass("Again: "):
                raise ServiceError("the two passwords differ")
        if not password:
            raise ServiceError("give --password or $POSLINE_OWNER_PASSWORD (or run it in a terminal to be asked)")
        print(f"password set for {asyncio.run(_owner_password(db_url, args.owner, password))}")
    elif args.command == "serve":
        _serve(args, db_url)


def _serve(args: argparse.Namespace, db_url: str) -> None:
    """One process serving (the default), or a parent supervising --workers N on one port."""
    settings = CloudSettings(db_url=db_url, host=args.host, port=args.port)
    if args.worker:
        if args.fd is None:
            raise ServiceError("--worker needs --fd: workers are started by serve --workers N")
        asyncio.run(run_service(create_app(settings), settings.host, settings.port, "posline-cloud worker",
                                sock=socket.socket(fileno=args.fd)))
        return
    if args.workers < 1:
        raise ServiceError("--workers must be at least 1")
    if args.workers == 1:
        asyncio.run(_migrate(db_url))
        asyncio.run(run_service(create_app(settings), settings.host, settings.port, "posline-cloud"))
        return
    # Claim the port before migrating: a second instance (an upgrade started beside the running one)
    # fails here, "address already in use", before it touches the schema the running one serves.
    listener = bind_port(settings.host, settings.port)
    try:
        asyncio.run(_migrate(db_url))   # once, here, before any worker opens the database
        listen(listener)
        _serve_workers(args.workers, db_url, settings, listener)
    finally:
        listener.close()


def _serve_workers(count: int, db_url: str, settings: CloudSettings, listener: socket.socket) -> None:
    """Supervise `count` workers serving `listener` (bound, listening, the schema migrated) until stopped."""
    if db_url.startswith("sqlite"):
        logging.getLogger("posline-cloud").warning(
            "%d workers on one SQLite file: reads run side by side, but the file has one writer, so ingest "
            "does not get faster (use PostgreSQL for several workers)", count)
    # The database URL goes to the workers in their environment, not on a command line `ps` shows.
    os.environ["POSLINE_CLOUD_DB"] = db_url
    run_workers([sys.executable, "-m", "cloud_api.cli", "serve", "--worker", "--host", settings.host,
                 "--port", str(settings.port)], count, "posline-cloud", listener)


if __name__ == "__main__":
    sys.exit(main())
