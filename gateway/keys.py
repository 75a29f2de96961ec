"""Typed keys for what the gateway app holds (no globals)."""
from aiohttp import web

from .cloud_client import CloudClient
from .settings import GatewaySettings
from .store import Store
from .uplink import Uplink

SETTINGS = web.AppKey("settings", GatewaySettings)
STORE = web.AppKey("store", Store)
CLOUD = web.AppKey("cloud", CloudClient)
UPLINK = web.AppKey("uplink", Uplink)
SHOP_NAME = web.AppKey("shop_name", str)
