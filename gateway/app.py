"""The gateway's app factory: the till's shell and LAN API, /setup, the uplink, scheduled jobs.

Resources open in order and close in reverse (aiohttp cleanup_ctx):
store -> cloud client -> mDNS announcement -> uplink task -> fiscal queue task -> print queue -> scheduler.
mDNS is announced only once the store and identity are open, and is withdrawn
(goodbye packets) before the database closes on SIGTERM.

Middlewares, outermost first: the body deadline (a stalled upload loses its
connection, whatever the handler does), security headers (so redirects and errors
carry them too; the till's shell gets its CSP there), plain HTTP is limited to
/setup and /ca.crt (redirects never reach the error handler), then every error
becomes one JSON shape, and inside it /api/v1 takes only JSON bodies.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from contextlib import suppress
from typing import AsyncIterator
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from cloud_api.contract import MAX_BATCH_BYTES
from cloud_api.service.headers import TILL_POLICY, security_headers
from cloud_api.service.connections import ConnectionLimits, body_deadline_middleware
from cloud_api.service.web import error_middleware

from . import admin, admin_printers, cashier_pins, khata_api, openapi_routes, print_api, till_api
from .backup import nightly_backup
from .box import cloud_identity, get_value, set_values
from .certificates import CertificateKeeper
from .catalog import pull_catalog
from .cloud_client import CloudClient, WanState
from .errors import UplinkError
from .fiscal_queue import FISCAL_QUEUE, FiscalQueue
from .print_queue import PRINT_QUEUE, PrintQueue
from .heartbeat import send_heartbeat
from .journal import backlog
from .khata import pull_khata
from .mdns import mdns_context
from .keys import CERTIFICATES, CLOUD, HOSTNAME, SCHEDULER, SETTINGS, SHOP_NAME, STORE, UPLINK
from .network import lan_addresses
from .pairing import PairingGuard
from .settings import GatewaySettings
from .shell import shell_routes
from .stock import pull_stock
from .store import Store
from .tablet_setup import plain_http_middleware, setup_routes
from .uplink import Uplink

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings, certificates: CertificateKeeper | None = None) -> web.Application:
    """A gateway for the provisioned state directory in `settings`.

    `certificates` is the HTTPS site's keeper (see `serve`); without one the app
    is served as is, which only tests do.
    """
    app = web.Application(middlewares=[body_deadline_middleware(settings.body_timeout_s),
                                       security_headers(TILL_POLICY), plain_http_middleware, error_middleware,
                                       till_api.json_only_middleware],
                          client_max_size=2 * MAX_BATCH_BYTES)
    app[SETTINGS] = settings
    app[till_api.TILL_GUARDS] = till_api.TillGuards(PairingGuard(settings.pairing_code_ttl_s))
    app[CERTIFICATES] = certificates
    app.router.add_routes(till_api.routes)
    cashier_pins.setup(app)                  # POST /api/v1/cashiers:verify
    app.router.add_routes(khata_api.routes)  # /api/v1/customers, /api/v1/khata/approvals (gateway/khata.py)
    app.router.add_routes(openapi_routes.routes)   # GET /api/v1/openapi.json
    app.router.add_routes(setup_routes())   # before the shell, whose /{name} would take /setup
    app.router.add_routes(admin.routes)     # the owner's page, also before the shell
    app.router.add_routes(admin_printers.routes)   # /admin/printers
    print_api.setup(app)                    # /api/v1/print, /api/v1/printer (gateway/print_api.py)
    app.router.add_routes(shell_routes(minify=settings.minify))
    app.cleanup_ctx.extend([_store, _cloud, mdns_context, _uplink, _fiscal, _printing, _scheduler])
    return app


async def _store(app: web.Application) -> AsyncIterator[None]:
    store = await Store.open(app[SETTINGS].state_dir)
    app[STORE] = store
    yield
    await store.close()


async def _cloud(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    identity = await cloud_identity(store.read())
    app[SHOP_NAME] = identity.shop_name
    app[HOSTNAME] = await box_hostname(store, app[SETTINGS])
    wan = WanState()

    async def remember(state: WanState) -> None:
        # Persisted so `posline-gateway status` (another process) can tell the installer.
        async with store.transaction() as db:
            await set_values(db, wan_state=state.state, wan_since=state.since, wan_error=state.error or "")

    wan.on_change.append(remember)
    app[CLOUD] = CloudClient(identity.cloud_url, identity.api_key, app[SETTINGS].cloud_timeout_s, wan)
    yield
    await app[CLOUD].aclose()


async def _uplink(app: web.Application) -> AsyncIterator[None]:
    # Once the cloud has the box's latest documents, its snapshots count them: fetch them.
    uplink = Uplink(app[STORE], app[CLOUD], app[SETTINGS], on_drained=lambda: pull_snapshots(app[STORE], app[CLOUD]))
    app[UPLINK] = uplink
    uplink.start()
    yield
    await uplink.stop()


async def pull_snapshots(store: Store, cloud: CloudClient) -> None:
    """After a drain: the stock snapshot, then the khata's (a failure of the first does not skip the second)."""
    try:
        await pull_stock(store, cloud)
    finally:
        await pull_khata(store, cloud)


async def _fiscal(app: web.Application) -> AsyncIterator[None]:
    # FBR / PRA reporting (gateway/fiscal_queue.py): its own task and transactions, so a slow or absent
    # authority never holds up the journal or the uplink.
    queue = FiscalQueue(app[STORE], app[SETTINGS], wan=app[CLOUD].wan)
    app[FISCAL_QUEUE] = queue
    queue.start()
    yield
    await queue.stop()


async def _printing(app: web.Application) -> AsyncIterator[None]:
    # Receipt printers (gateway/print_queue.py): a task per printer with its own short transactions, so a
    # printer that is off or out of paper never holds up a sale, the journal or the uplink.
    queue = PrintQueue(app[STORE], app[SETTINGS])
    app[PRINT_QUEUE] = queue
    queue.start()
    yield
    await queue.stop()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings, store, cloud = app[SETTINGS], app[STORE], app[CLOUD]

    async def catalog_job() -> None:
        with suppress(UplinkError):   # the WAN state already records the failure
            if await pull_catalog(store, cloud, settings.state_dir):
                app[FISCAL_QUEUE].wake()   # a new token, a POSID, the owner's Retry: look again
        with suppress(UplinkError):   # the stock and khata snapshots ride the catalog's schedule
            await pull_stock(store, cloud)
        with suppress(UplinkError):
            await pull_khata(store, cloud)

    async def heartbeat_job() -> None:
        with suppress(UplinkError):
            await send_heartbeat(store, cloud, settings)

    async def parked_job() -> None:
        # A cloud upgraded since may now store what it refused: try the parked documents again.
        if await app[UPLINK].retry_parked():
            app[UPLINK].wake()

    async def certificate_job() -> None:
        # A new DHCP lease or the calendar: reissue the HTTPS certificate, live, with the same CA.
        keeper = app[CERTIFICATES]
        if keeper is not None and keeper.refresh(lan_addresses(settings.interfaces)):
            log.info("HTTPS certificate reissued for %s", ", ".join(map(str, keeper.identity.addresses)))

    scheduler = AsyncIOScheduler()
    # Started now rather than after one interval, so a fresh box has its catalog at once.
    scheduler.add_job(catalog_job, "interval", seconds=settings.catalog_interval_s, id="catalog",
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    scheduler.add_job(heartbeat_job, "interval", seconds=settings.heartbeat_interval_s, id="heartbeat",
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    scheduler.add_job(parked_job, "interval", seconds=settings.parked_retry_s, id="parked",
                      max_instances=1, coalesce=True)
    scheduler.add_job(certificate_job, "interval", seconds=settings.address_check_s, id="certificate",
                      max_instances=1, coalesce=True)
    # nightly_backup logs its own failures and never raises them: a failed night never stops the box.
    # The grace time: a loop busy at that minute still backs up tonight instead of skipping it.
    hour, minute = (int(part) for part in settings.backup_at.split(":"))
    scheduler.add_job(nightly_backup, CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(settings.timezone)),
                      args=[settings], id="backup", max_instances=1, coalesce=True, misfire_grace_time=3600)
    app[SCHEDULER] = scheduler
    scheduler.start()
    yield
    scheduler.shutdown(wait=False)


async def status_line(app: web.Application) -> str:
    """One line for `systemctl status`: the WAN and what the cloud still lacks."""
    pending = await backlog(app[STORE].read())
    oldest = f", oldest unsynced {pending['oldest_unsynced_at']}" if pending["oldest_unsynced_at"] else ""
    return f"WAN {app[CLOUD].wan.state}; backlog {pending['backlog']}{oldest}"


def connection_limits(settings: GatewaySettings) -> ConnectionLimits:
    """What `serve` allows each socket: connections, and time for a head and a body."""
    return ConnectionLimits(max_connections=settings.max_connections, header_timeout_s=settings.header_timeout_s,
                            body_timeout_s=settings.body_timeout_s)


async def box_hostname(store: Store, settings: GatewaySettings) -> str:
    """The box's LAN name: the one provisioning stored (posline.toml), else the setting."""
    return await get_value(store.read(), "hostname") or settings.hostname
