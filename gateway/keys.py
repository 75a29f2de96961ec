"""Typed keys for what the gateway app holds (no globals)."""
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .certificates import CertificateKeeper
from .cloud_client import CloudClient
from .mdns import Announcer
from .settings import GatewaySettings
from .store import Store
from .uplink import Uplink

SETTINGS = web.AppKey("settings", GatewaySettings)
STORE = web.AppKey("store", Store)
CLOUD = web.AppKey("cloud", CloudClient)
UPLINK = web.AppKey("uplink", Uplink)
SHOP_NAME = web.AppKey("shop_name", str)
HOSTNAME = web.AppKey("hostname", str)
ANNOUNCER = web.AppKey("announcer", Announcer)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
CERTIFICATES = web.AppKey("certificates", CertificateKeeper | None)   # None: a test app without TLS
