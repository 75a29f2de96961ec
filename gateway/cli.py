"""posline-gateway: provision, serve, pair-code, status."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from cloud_api.service.cli import EXIT_BAD_INPUT, EXIT_UNREACHABLE, run_cli
from cloud_api.service.errors import ServiceError
from cloud_api.service.serving import run_service

from .app import create_app, status_line
from .backup import backup_database
from .box import cloud_identity, get_value
from .errors import CloudRefused, CloudUnreachable
from .journal import backlog
from .pairing import new_pairing_code
from .provisioning import hand_over, is_provisioned, provision, read_provision_file, scrub_provision_file
from .settings import GatewaySettings
from .store import DB_NAME, Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posline-gateway", description="POS Line shop gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    prov = sub.add_parser("provision", help="enrol this box with the cloud (flags, or --config FILE)")
    prov.add_argument("--state-dir", required=True, type=Path)
    prov.add_argument("--cloud-url")
    prov.add_argument("--enrol-token")
    prov.add_argument("--config", type=Path, help="installer's TOML: cloud_url, enrol_token, shop_name, hostname")
    prov.add_argument("--scrub-config", action="store_true", help="remove the used token from --config")
    prov.add_argument("--owner", help="hand the state directory to this user afterwards")
    prov.add_argument("--name", default="gateway", help="how the owner sees this box")
    serve = sub.add_parser("serve", help="serve the till and forward sales to the cloud")
    serve.add_argument("--state-dir", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    code = sub.add_parser("pair-code", help="print a one-time 6-digit code to pair a till")
    code.add_argument("--state-dir", required=True, type=Path)
    status = sub.add_parser("status", help="WAN, backlog, oldest unsynced, devices")
    status.add_argument("--state-dir", required=True, type=Path)
    status.add_argument("--json", action="store_true")
    backup = sub.add_parser("backup", help="copy the live database to a file (safe while serving)")
    backup.add_argument("--state-dir", required=True, type=Path)
    backup.add_argument("--to", required=True, type=Path)
    return parser


async def _existing_store(state_dir: Path) -> Store:
    if not (state_dir / DB_NAME).exists():
        raise ServiceError(f"{state_dir} holds no gateway: run posline-gateway provision first")
    store = await Store.open(state_dir)
    await cloud_identity(store.read())   # NotProvisioned if enrolment never finished
    return store


async def _check_provisioned(state_dir: Path) -> None:
    await (await _existing_store(state_dir)).close()


async def _pair_code(settings: GatewaySettings) -> str:
    store = await _existing_store(settings.state_dir)
    try:
        async with store.transaction() as db:
            return await new_pairing_code(db, settings.pairing_code_ttl_s)
    finally:
        await store.close()


async def _status(state_dir: Path) -> dict[str, Any]:
    store = await _existing_store(state_dir)
    try:
        db = store.read()
        identity = await cloud_identity(db)
        out: dict[str, Any] = {"shop_name": identity.shop_name, "gateway_id": identity.gateway_id,
                               "cloud_url": identity.cloud_url,
                               "wan": await get_value(db, "wan_state") or "unknown",
                               "wan_since": await get_value(db, "wan_since"),
                               "wan_error": await get_value(db, "wan_error") or None}
        out.update(await backlog(db))
        out["devices"] = [dict(row) for row in await db.execute_fetchall(
            "SELECT device_code, name, last_seen_at FROM devices ORDER BY device_code")]
        out["dead_letter"] = (await (await db.execute("SELECT count(*) FROM dead_letter")).fetchone())[0]
        return out
    finally:
        await store.close()


def _provision(args: argparse.Namespace) -> dict[str, Any]:
    if args.config:
        if is_provisioned(args.state_dir):   # first boot already done: nothing to do, and say so
            return {"already_provisioned": True}
        spec = read_provision_file(args.config)
        result = asyncio.run(provision(args.state_dir, spec.cloud_url, spec.enrol_token,
                                       spec.hostname or args.name, spec.hostname, spec.shop_name))
        if args.scrub_config:
            scrub_provision_file(args.config)
    else:
        if not args.cloud_url or not args.enrol_token:
            raise ServiceError("give --cloud-url and --enrol-token, or --config FILE")
        result = asyncio.run(provision(args.state_dir, args.cloud_url, args.enrol_token, args.name))
    if args.owner:
        hand_over(args.state_dir, args.owner)
    return result


def _print_status(status: dict[str, Any]) -> None:
    print(f"shop:      {status['shop_name']}")
    print(f"wan:       {status['wan']}" + (f" since {status['wan_since']}" if status["wan_since"] else "")
          + (f" ({status['wan_error']})" if status["wan_error"] else ""))
    print(f"backlog:   {status['backlog']} documents not yet in the cloud")
    print(f"oldest:    {status['oldest_unsynced_at'] or '-'}")
    print(f"dead letter: {status['dead_letter']}")
    print(f"devices:   {len(status['devices'])}")
    for device in status["devices"]:
        print(f"  {device['device_code']:<4} {device['name']:<20} last seen {device['last_seen_at'] or 'never'}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return run_cli("posline-gateway", lambda: _run(args), {
        CloudUnreachable: (EXIT_UNREACHABLE, "cannot reach the cloud: "),
        CloudRefused: (EXIT_BAD_INPUT, ""),
    })


def _run(args: argparse.Namespace) -> None:
    if args.command == "provision":
        print(json.dumps(_provision(args)))
    elif args.command == "pair-code":
        print(asyncio.run(_pair_code(GatewaySettings(state_dir=args.state_dir))))
    elif args.command == "status":
        status = asyncio.run(_status(args.state_dir))
        print(json.dumps(status)) if args.json else _print_status(status)
    elif args.command == "backup":
        size = backup_database(args.state_dir, args.to)
        print(f"backed up {args.state_dir / DB_NAME} to {args.to} ({size} bytes)")
    elif args.command == "serve":
        settings = GatewaySettings(state_dir=args.state_dir, host=args.host, port=args.port)
        asyncio.run(_check_provisioned(settings.state_dir))   # fail fast, with one line
        asyncio.run(run_service(create_app(settings), settings.host, settings.port, "posline-gateway", status_line))


if __name__ == "__main__":
    sys.exit(main())
