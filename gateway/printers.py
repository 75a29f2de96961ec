"""The shop's receipt printers as the owner set them up on /admin/printers, and which tablet uses which.

Tables printers and tablet_printers (migration 009). Everything here runs inside a caller's
transaction or on the read connection; talking to a printer is gateway/printer_wire.py.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import aiosqlite

from cloud_api.service.clock import utc_now

WIDTHS = {576: "80 mm", 384: "58 mm"}
# A USB printer on the box is a usblp device node, nothing else: the owner's form never names a file.
USB_PATH = re.compile(r"^/dev/(usb/)?lp[0-9]{1,2}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                      r"[A-Za-z0-9])?)*$")


@dataclass(frozen=True)
class Printer:
    printer_id: int
    name: str
    connection: str          # lan | usb
    host: str | None
    port: int
    usb_path: str | None
    width_dots: int

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" if self.connection == "lan" else str(self.usb_path)


class BadPrinter(ValueError):
    """What the owner typed does not name a printer; the message says why, for the page."""


def _printer(row: aiosqlite.Row) -> Printer:
    return Printer(row["printer_id"], row["name"], row["connection"], row["host"], row["port"], row["usb_path"],
                   row["width_dots"])


async def list_printers(db: aiosqlite.Connection) -> list[Printer]:
    return [_printer(row) for row in await db.execute_fetchall("SELECT * FROM printers ORDER BY printer_id")]


async def get_printer(db: aiosqlite.Connection, printer_id: int) -> Printer | None:
    row = await (await db.execute("SELECT * FROM printers WHERE printer_id = ?", (printer_id,))).fetchone()
    return _printer(row) if row else None


def check(name: str, connection: str, host: str, port: str | int, usb_path: str, width_dots: str | int
          ) -> tuple[str, str, str | None, int, str | None, int]:
    """The form's fields as a printer row's values, or BadPrinter."""
    name = name.strip()
    if not name or len(name) > 60:
        raise BadPrinter("Give the printer a name (up to 60 letters), e.g. Counter 1.")
    try:
        width = int(width_dots)
    except ValueError:
        width = 0
    if width not in WIDTHS:
        raise BadPrinter("Choose the paper width: 80 mm or 58 mm.")
    if connection == "lan":
        host = host.strip()
        try:
            ipaddress.ip_address(host)
        except ValueError:
            # Digits and dots only is an IP address that is not one (192.168.1.300), never a name.
            if not HOSTNAME.match(host) or re.fullmatch(r"[0-9.]+", host):
                raise BadPrinter("Type the printer's IP address, e.g. 192.168.1.50 (printed on its self-test "
                                 "page).") from None
        try:
            number = int(port or 9100)
        except ValueError:
            number = 0
        if not 1 <= number <= 65535:
            raise BadPrinter("The port is a number from 1 to 65535; receipt printers use 9100.")
        return name, "lan", host, number, None, width
    if connection == "usb":
        path = usb_path.strip()
        if not USB_PATH.match(path):
            raise BadPrinter("A USB printer on the box is a device such as /dev/usb/lp0.")
        return name, "usb", None, 9100, path, width
    raise BadPrinter("Choose how the printer is connected: LAN or USB.")


async def add_printer(db: aiosqlite.Connection, name: str, connection: str, host: str = "", port: str | int = 9100,
                      usb_path: str = "", width_dots: str | int = 576) -> int:
    values = check(name, connection, host, port, usb_path, width_dots)
    cursor = await db.execute("INSERT INTO printers (name, connection, host, port, usb_path, width_dots, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)", (*values, utc_now()))
    return int(cursor.lastrowid or 0)


async def remove_printer(db: aiosqlite.Connection, printer_id: int) -> bool:
    """Forget a printer: its tablets go back to the browser's print, its waiting jobs fail ("removed")."""
    await db.execute("UPDATE print_jobs SET status = 'failed', problem = 'removed', "
                     "last_error = 'the printer was removed on the box' "
                     "WHERE printer_id = ? AND status IN ('queued', 'printing')", (printer_id,))
    await db.execute("DELETE FROM tablet_printers WHERE printer_id = ?", (printer_id,))
    return (await db.execute("DELETE FROM printers WHERE printer_id = ?", (printer_id,))).rowcount > 0


async def assign(db: aiosqlite.Connection, device_id: str, printer_id: int | None) -> bool:
    """Give a paired tablet a printer (None: none, it prints through the browser); False if either is unknown."""
    known = await (await db.execute("SELECT 1 FROM devices WHERE device_id = ?", (device_id,))).fetchone()
    if known is None:
        return False
    if printer_id is None:
        await db.execute("DELETE FROM tablet_printers WHERE device_id = ?", (device_id,))
        return True
    if await get_printer(db, printer_id) is None:
        return False
    await db.execute("INSERT INTO tablet_printers (device_id, printer_id) VALUES (?, ?) "
                     "ON CONFLICT (device_id) DO UPDATE SET printer_id = excluded.printer_id", (device_id, printer_id))
    return True


async def printer_for(db: aiosqlite.Connection, device_id: str) -> Printer | None:
    """The printer a tablet prints on, or None."""
    row = await (await db.execute("SELECT p.* FROM printers p JOIN tablet_printers t USING (printer_id) "
                                  "WHERE t.device_id = ?", (device_id,))).fetchone()
    return _printer(row) if row else None


async def assignments(db: aiosqlite.Connection) -> dict[str, int]:
    return {row["device_id"]: row["printer_id"]
            for row in await db.execute_fetchall("SELECT device_id, printer_id FROM tablet_printers")}
