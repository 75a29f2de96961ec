"""posline-cloud: serve, migrate, create-shop."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from .app import create_app
from .service.cli import run_cli
from .database import create_engine, migrate, resolve_db_url
from .demo_shop import seed_demo_catalog
from .service.errors import ServiceError
from .service.serving import run_service
from .settings import CloudSettings
from .shops import create_shop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posline-cloud", description="POS Line cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the cloud API (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--db", help="sqlite:///file.db or postgresql://... (default $POSLINE_CLOUD_DB)")
    mig = sub.add_parser("migrate", help="bring the database schema up to date")
    mig.add_argument("--db")
    shop = sub.add_parser("create-shop", help="create a shop; prints shop_id, owner_token, enrol_token")
    shop.add_argument("--name", required=True)
    shop.add_argument("--timezone", default="Asia/Karachi")
    shop.add_argument("--demo", action="store_true", help="also seed the demo catalog and a cashier")
    shop.add_argument("--db")
    return parser


async def _migrate(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _create_shop(db_url: str, name: str, timezone: str, demo: bool) -> dict[str, Any]:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            shop = await create_shop(conn, name, timezone)
            out: dict[str, Any] = {"shop_id": shop.shop_id, "owner_token": shop.owner_token,
                                   "enrol_token": shop.enrol_token}
            if demo:
                out.update(await seed_demo_catalog(conn, shop.shop_id))
        return out
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return run_cli("posline-cloud", lambda: _run(args))


def _run(args: argparse.Namespace) -> None:
    db_url = resolve_db_url(args.db)
    if args.command == "migrate":
        asyncio.run(_migrate(db_url))
        print("database is up to date")
    elif args.command == "create-shop":
        if not args.name.strip():
            raise ServiceError("--name must not be empty")
        print(json.dumps(asyncio.run(_create_shop(db_url, args.name.strip(), args.timezone, args.demo))))
    elif args.command == "serve":
        asyncio.run(_migrate(db_url))
        settings = CloudSettings(db_url=db_url, host=args.host, port=args.port)
        asyncio.run(run_service(create_app(settings), settings.host, settings.port, "posline-cloud"))


if __name__ == "__main__":
    sys.exit(main())
