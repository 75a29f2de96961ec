"""posline-gateway: provision, serve, pair-code, admin-pin, status, backup, restore."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from cloud_api.service.cli import EXIT_BAD_INPUT, EXIT_UNREACHABLE, run_cli
from cloud_api.service.errors import ServiceError
from cloud_api.service.serving import run_service

from .app import box_hostname, connection_limits, create_app, status_line
from .backup import backup_box, restore_box
from .box import cloud_identity, get_value
from .certificates import CertificateKeeper, ServerIdentity, ca_fingerprint
from . import fiscal_jobs, khata
from .errors import CloudRefused, CloudUnreachable
from .journal import backlog, parked
from .network import lan_addresses
from .owner_pin import check_pin_policy, hash_pin, set_owner_pin
from .pairing import new_pairing_code
from .provisioning import hand_over, is_provisioned, provision, read_provision_file, scrub_provision_file
from .returns import over_refunds
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
    prov.add_argument("--admin-pin", help="the owner PIN of /admin (6+ digits); or admin_pin in --config")
    pin = sub.add_parser("admin-pin", help="set or replace the owner PIN of /admin (signs the owner out)")
    pin.add_argument("--state-dir", required=True, type=Path)
    pin.add_argument("--pin", help="the new PIN (6+ digits); without it, read from stdin (kept out of ps and history)")
    serve = sub.add_parser("serve", help="serve the till and forward sales to the cloud")
    serve.add_argument("--state-dir", required=True, type=Path)
    # No argparse defaults: a flag not given leaves the setting to POSLINE_GATEWAY_* or its default.
    serve.add_argument("--host", help="the address to listen on (default 127.0.0.1, or POSLINE_GATEWAY_HOST)")
    serve.add_argument("--port", type=int, help="HTTPS: the till, the tablet API, /admin (default 8080, or "
                                                "POSLINE_GATEWAY_PORT; 443 on a box)")
    serve.add_argument("--http-port", type=int, help="plain HTTP for /setup, /ca.crt and a redirect (default none, "
                                                     "or POSLINE_GATEWAY_HTTP_PORT; 80 on a box)")
    code = sub.add_parser("pair-code", help="print a one-time 6-digit code to pair a till")
    code.add_argument("--state-dir", required=True, type=Path)
    status = sub.add_parser("status", help="WAN, backlog, oldest unsynced, devices")
    status.add_argument("--state-dir", required=True, type=Path)
    status.add_argument("--json", action="store_true")
    backup = sub.add_parser("backup", help="save the database and the box's CA to one file (safe while serving)")
    backup.add_argument("--state-dir", required=True, type=Path)
    backup.add_argument("--to", required=True, type=Path)
    restore = sub.add_parser("restore", help="put a backup into an empty state directory (a replacement box)")
    restore.add_argument("--state-dir", required=True, type=Path)
    restore.add_argument("--from", dest="source", required=True, type=Path)
    return parser


async def _existing_store(state_dir: Path) -> Store:
    if not (state_dir / DB_NAME).exists():
        raise ServiceError(f"{state_dir} holds no gateway: run posline-gateway provision first")
    store = await Store.open(state_dir)
    await cloud_identity(store.read())   # NotProvisioned if enrolment never finished
    return store


async def _box_hostname(settings: GatewaySettings) -> str:
    """Fail fast (one line) if the box is not provisioned; else its LAN name."""
    store = await _existing_store(settings.state_dir)
    try:
        return await box_hostname(store, settings)
    finally:
        await store.close()


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
        out.update(await parked(db))   # documents the cloud would not take: count and reasons
        out.update(await over_refunds(db))   # returns beyond their sale, for the owner
        out.update(await khata.flags(db))    # credit past a limit, adjustments, without the box's approval
        out["fiscal"] = await fiscal_jobs.owner_view(db, GatewaySettings(state_dir=state_dir).timezone)   # FBR / PRA: per day, failures, stopped; None if off
        out["devices"] = [dict(row) for row in await db.execute_fetchall(
            "SELECT device_code, name, last_seen_at, dead_letter_evicted FROM devices ORDER BY device_code")]
        out["dead_letter"] = (await (await db.execute("SELECT count(*) FROM dead_letter")).fetchone())[0]
        out["ca_fingerprint"] = ca_fingerprint(state_dir)
        return out
    finally:
        await store.close()


def _provision(args: argparse.Namespace) -> dict[str, Any]:
    if args.config:
        if is_provisioned(args.state_dir):   # first boot already done: nothing to do, and say so
            return {"already_provisioned": True}
        spec = read_provision_file(args.config)
        admin_pin = args.admin_pin or spec.admin_pin
        if admin_pin:
            check_pin_policy(admin_pin)   # before the token is spent
        result = asyncio.run(provision(args.state_dir, spec.cloud_url, spec.enrol_token,
                                       spec.hostname or args.name, spec.hostname, spec.shop_name))
        if args.scrub_config:
            scrub_provision_file(args.config)
    else:
        if not args.cloud_url or not args.enrol_token:
            raise ServiceError("give --cloud-url and --enrol-token, or --config FILE")
        admin_pin = args.admin_pin
        if admin_pin:
            check_pin_policy(admin_pin)   # before the token is spent
        result = asyncio.run(provision(args.state_dir, args.cloud_url, args.enrol_token, args.name))
    if admin_pin:
        asyncio.run(_set_admin_pin(args.state_dir, admin_pin))
    if args.owner:
        hand_over(args.state_dir, args.owner)
    return result


async def _set_admin_pin(state_dir: Path, pin: str) -> None:
    store = await _existing_store(state_dir)
    try:
        pin_hash = await asyncio.to_thread(hash_pin, pin)
        async with store.transaction() as db:
            await set_owner_pin(db, pin_hash)
    finally:
        await store.close()


def _read_new_pin(args: argparse.Namespace) -> str:
    if args.pin is not None:
        return args.pin
    if sys.stdin.isatty():
        pin = getpass.getpass("New owner PIN (6+ digits): ")
        if getpass.getpass("Again: ") != pin:
            raise ServiceError("the two PINs differ; nothing was changed")
        return pin
    return sys.stdin.readline().strip()


def _print_status(status: dict[str, Any]) -> None:
    print(f"shop:      {status['shop_name']}")
    print(f"wan:       {status['wan']}" + (f" since {status['wan_since']}" if status["wan_since"] else "")
          + (f" ({status['wan_error']})" if status["wan_error"] else ""))
    print(f"backlog:   {status['backlog']} documents not yet in the cloud")
    print(f"oldest:    {status['oldest_unsynced_at'] or '-'}")
    print(f"dead letter: {status['dead_letter']}")
    print(f"parked:    {status['parked']} documents the cloud would not take (retried on the next start)")
    for doc in status["parked_documents"]:
        print(f"  {doc['receipt_number']} {doc['id']}: {doc['reason']}")
    print(f"khata flags: {status['khata_flag_count']} entries to look at (from a tablet cut off from the box, "
          "a balance that changed meanwhile, or a changed document)")
    for flag in status["khata_flags"]:
        print(f"  {flag['text']}")
    print(f"over-refunds: {status['over_refund_count']} return lines beyond their sale")
    for flag in status["over_refunds"]:
        print(f"  {flag['text']}")
    fiscal = status.get("fiscal")
    if fiscal:
        today = fiscal["days"][0] if fiscal["days"] else None
        print(f"{fiscal['authority']}:       " + (f"STOPPED: {fiscal['stopped']}" if fiscal["stopped"] else "reporting")
              + (f"; {today['date']}: {today['fiscalized']} fiscalized, {today['pending']} pending, "
                 f"{today['failed']} failed" if today else ""))
        for line in fiscal["waiting"]:
            print(f"  {line}")
        for failure in fiscal["failures"]:
            print(f"  {failure['receipt_number']} {failure['status']}: {failure['message']}")
    print(f"CA SHA-256: {status['ca_fingerprint'] or 'none yet (made on the first serve)'}")
    print(f"devices:   {len(status['devices'])}")
    for device in status["devices"]:
        # Invalid documents beyond the tablet's dead-letter bound were evicted, oldest first (journal.py).
        evicted = f", {device['dead_letter_evicted']} invalid evicted" if device["dead_letter_evicted"] else ""
        print(f"  {device['device_code']:<4} {device['name']:<20} last seen {device['last_seen_at'] or 'never'}"
              f"{evicted}")


def serve_settings(args: argparse.Namespace) -> GatewaySettings:
    """The settings `serve` runs with: the flags given, then POSLINE_GATEWAY_* from the environment, then defaults."""
    given = {name: getattr(args, name) for name in ("host", "port", "http_port") if getattr(args, name) is not None}
    return GatewaySettings(state_dir=args.state_dir, **given)


def _join_enrol_token(argv: list[str]) -> list[str]:
    """`--enrol-token VALUE` as `--enrol-token=VALUE`, so a token that starts with '-' is not read as an option.

    Tokens issued today never start with '-', but older ones may (1 in 64 of token_urlsafe).
    """
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        value = next(args, None) if arg == "--enrol-token" else None
        out.append(arg if value is None else f"--enrol-token={value}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_join_enrol_token(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Whatever starts us (systemd has UMask=0077; an installer's shell may have 0022): every file the box
    # writes (database, CA key, backups) is for its own user only. Store.open also fixes older boxes.
    os.umask(0o077)
    return run_cli("posline-gateway", lambda: _run(args), {
        CloudUnreachable: (EXIT_UNREACHABLE, "cannot reach the cloud: "),
        CloudRefused: (EXIT_BAD_INPUT, ""),
    })


def _run(args: argparse.Namespace) -> None:
    if args.command == "provision":
        print(json.dumps(_provision(args)))
    elif args.command == "admin-pin":
        asyncio.run(_set_admin_pin(args.state_dir, check_pin_policy(_read_new_pin(args))))
        print("owner PIN set; every owner session on /admin was signed out")
    elif args.command == "pair-code":
        print(asyncio.run(_pair_code(GatewaySettings(state_dir=args.state_dir))))
    elif args.command == "status":
        status = asyncio.run(_status(args.state_dir))
        print(json.dumps(status)) if args.json else _print_status(status)
    elif args.command == "backup":
        size = backup_box(args.state_dir, args.to)
        print(f"backed up {args.state_dir} (database and CA) to {args.to} ({size} bytes)")
    elif args.command == "restore":
        restored = restore_box(args.source, args.state_dir)
        print(f"restored {', '.join(restored)} into {args.state_dir}"
              + ("" if "tls/ca.key" in restored else "; this backup has no CA, so tablets must visit /setup again"))
    elif args.command == "serve":
        settings = serve_settings(args)
        hostname = asyncio.run(_box_hostname(settings))
        # Made before the app: the HTTPS socket needs its context when it binds (boxes provisioned
        # before HTTPS existed get their CA here, on their first start after the upgrade).
        keeper = CertificateKeeper(settings.state_dir, ServerIdentity(hostname, tuple(lan_addresses(settings.interfaces))))
        asyncio.run(run_service(create_app(settings, keeper), settings.host, settings.port, "posline-gateway",
                                status_line, ssl_context=keeper.context, http_port=settings.http_port,
                                limits=connection_limits(settings)))


if __name__ == "__main__":
    sys.exit(main())
