"""Enrolling a box with the cloud: from flags, or from the installer's TOML file on first boot.

The file (sample: systemd/posline.toml.sample) names the cloud, a one-time
enrolment token, the shop and the box's LAN hostname. Once used, the token is
scrubbed from the file, which is left readable by root only.
"""
from __future__ import annotations

import os
import pwd
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud_api.service.clock import utc_now
from cloud_api.service.errors import ServiceError

from .box import get_value, set_values
from .certificates import ensure_ca
from .cloud_client import CloudClient
from .owner_pin import check_pin_policy
from .store import Store

PROVISIONED_MARKER = "provisioned"   # systemd's ConditionPathExists looks for it


@dataclass(frozen=True)
class ProvisionFile:
    cloud_url: str
    enrol_token: str
    shop_name: str | None = None
    hostname: str | None = None
    admin_pin: str | None = None   # the owner PIN of /admin; only its hash is kept, and the file is scrubbed


def read_provision_file(path: Path) -> ProvisionFile:
    """Parse the installer's TOML, or a one-line ServiceError saying what is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ServiceError(f"{path} does not exist") from err
    except tomllib.TOMLDecodeError as err:
        raise ServiceError(f"{path} is not valid TOML: {err}") from err
    for key in ("cloud_url", "enrol_token"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ServiceError(f"{path} needs {key} = \"...\"")
    if not re.match(r"^https?://", data["cloud_url"]):
        raise ServiceError(f"{path}: cloud_url must start with https:// (or http:// on a test bench)")
    shop_name = data.get("shop_name")
    if shop_name is not None and not isinstance(shop_name, str):
        raise ServiceError(f"{path}: shop_name must be text, like shop_name = \"Madina General Store\"")
    hostname = data.get("hostname")
    if hostname is not None and not re.match(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", str(hostname)):
        raise ServiceError(f"{path}: hostname must be a simple lower-case name like posline-madina")
    admin_pin = data.get("admin_pin")
    if admin_pin is not None:
        if not isinstance(admin_pin, str):   # a bare number would lose its leading zeros
            raise ServiceError(f"{path}: admin_pin must be in quotes, like admin_pin = \"246810\"")
        try:
            admin_pin = check_pin_policy(admin_pin)
        except ServiceError as err:
            raise ServiceError(f"{path}: {err.message}") from err
    return ProvisionFile(data["cloud_url"].strip().rstrip("/"), data["enrol_token"].strip(),
                         (shop_name or "").strip() or None, hostname, admin_pin)   # blank shop_name: no check


async def provision(state_dir: Path, cloud_url: str, enrol_token: str, name: str,
                    hostname: str | None = None, expected_shop: str | None = None) -> dict[str, Any]:
    """Enrol with the cloud and record the box's identity; refuse if already provisioned.

    With expected_shop the cloud itself refuses a token of another shop (CloudRefused, 409)
    without spending it, so the installer corrects the name and runs this again.
    """
    store = await Store.open(state_dir)
    try:
        if await get_value(store.read(), "api_key"):
            raise ServiceError(f"{state_dir} is already provisioned")
        cloud = CloudClient(cloud_url.rstrip("/"), None, timeout_s=20)
        try:
            enrolled = await cloud.enrol(enrol_token, name, expected_shop)
        finally:
            await cloud.aclose()
        values = dict(cloud_url=cloud_url.rstrip("/"), api_key=enrolled.api_key, gateway_id=enrolled.gateway_id,
                      shop_id=enrolled.shop_id, shop_name=enrolled.shop_name, provisioned_at=utc_now())
        if hostname:
            values["hostname"] = hostname
        async with store.transaction() as db:
            await set_values(db, **values)
    finally:
        await store.close()
    ensure_ca(state_dir, enrolled.shop_name)   # tablets will install it from /setup; status prints its fingerprint
    (state_dir / PROVISIONED_MARKER).write_text(f"{enrolled.gateway_id}\n")
    return {"gateway_id": enrolled.gateway_id, "shop_id": enrolled.shop_id, "shop_name": enrolled.shop_name}


def is_provisioned(state_dir: Path) -> bool:
    return (state_dir / PROVISIONED_MARKER).exists()


def scrub_provision_file(path: Path) -> None:
    """Blank the used enrolment token and the owner PIN (temp file + rename) and leave the file root-only."""
    lines = []
    for line in path.read_text().splitlines():
        secret = re.match(r"^\s*(enrol_token|admin_pin)\s*=", line)
        if secret:
            line = f"# {secret.group(1)} was used on {utc_now()} and removed"
        lines.append(line)
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    os.chmod(path, 0o600)


def hand_over(state_dir: Path, user: str) -> None:
    """Give the state directory to the service's user (provisioning runs as root)."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError as err:
        raise ServiceError(f"no such user {user!r}: run systemd/install.sh first") from err
    for path in [state_dir, *state_dir.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
