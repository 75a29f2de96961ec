"""posline-cloud create-shop --owner, attach-shop and owner-password, run as an installer runs them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_api.database import create_engine
from cloud_api.owners import check_password
from cloud_api.service.errors import Unauthorised


def cloud(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloud_api.cli", *args, "--db", f"sqlite:///{db}"],
                          capture_output=True, text=True, timeout=120)


async def test_shops_join_one_owner_and_the_password_can_be_reset(tmp_path: Path):
    db = tmp_path / "cloud.db"
    first = cloud("create-shop", "--name", "Madina", "--owner", "+92 300 1234567", "--owner-password",
                  "chai-and-biscuits", db=db)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["owner_login"] == "03001234567"
    # A second shop for the same owner needs no password; an unknown owner without one is refused.
    second = cloud("create-shop", "--name", "Madina Branch 2", "--owner", "03001234567", db=db)
    assert second.returncode == 0, second.stderr
    # A password typed for an owner who has one would be ignored: refused, so the installer knows.
    retyped = cloud("create-shop", "--name", "Madina Branch 3", "--owner", "03001234567", "--owner-password",
                    "another-password", db=db)
    assert retyped.returncode == 2 and retyped.stderr.count("\n") == 1   # one line, no migration chatter
    assert "already has an account and a password" in retyped.stderr
    refused = cloud("create-shop", "--name", "Nobody's", "--owner", "03331112222", db=db)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == ("posline-cloud: 03331112222 has no account yet: give --owner-password "
                                      "(or $POSLINE_OWNER_PASSWORD) to make it")
    bare = json.loads(cloud("create-shop", "--name", "Old shop", db=db).stdout)
    attached = cloud("attach-shop", "--shop-id", bare["shop_id"], "--owner", "03001234567", db=db)
    assert attached.returncode == 0 and "03001234567" in attached.stdout
    assert cloud("attach-shop", "--shop-id", "no-such", "--owner", "03001234567", db=db).returncode == 2
    short = cloud("owner-password", "--owner", "03001234567", "--password", "short", db=db)
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    assert cloud("owner-password", "--owner", "03001234567", "--password", "new-password-1", db=db).returncode == 0

    from cloud_api.owners import shops_of
    engine = create_engine(f"sqlite:///{db}")
    try:
        owner = await check_password(engine, "03001234567", "new-password-1")
        with pytest.raises(Unauthorised):
            await check_password(engine, "03001234567", "chai-and-biscuits")
        async with engine.connect() as conn:
            names = [shop.name for shop in await shops_of(conn, owner.owner_id)]
    finally:
        await engine.dispose()
    assert names == ["Madina", "Madina Branch 2", "Old shop"]


async def test_attach_shop_does_not_take_a_shop_from_its_owner_unless_told_to(tmp_path: Path):
    db = tmp_path / "cloud.db"
    mine = json.loads(cloud("create-shop", "--name", "Madina", "--owner", "03001234567", "--owner-password",
                            "chai-and-biscuits", db=db).stdout)
    # Another owner (made on first use) asks for a shop that is held: refused, and nothing changes.
    taken = cloud("attach-shop", "--shop-id", mine["shop_id"], "--owner", "someone@else.pk", "--owner-password",
                  "other-password", db=db)
    assert taken.returncode == 2
    assert taken.stderr.strip().splitlines()[-1] == (
        f"posline-cloud: shop {mine['shop_id']} is held by 03001234567: give --move to take it from them")
    # Attaching it to the owner who holds it already is fine (nothing to take).
    assert cloud("attach-shop", "--shop-id", mine["shop_id"], "--owner", "03001234567", db=db).returncode == 0
    moved = cloud("attach-shop", "--shop-id", mine["shop_id"], "--owner", "someone@else.pk", "--owner-password",
                  "other-password", "--move", db=db)
    assert moved.returncode == 0, moved.stderr

    from cloud_api.owners import owner_by_login, shops_of
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with engine.connect() as conn:
            first = await owner_by_login(conn, "03001234567")
            other = await owner_by_login(conn, "someone@else.pk")
            assert first is not None and other is not None
            assert await shops_of(conn, first.owner_id) == []
            assert [shop.shop_id for shop in await shops_of(conn, other.owner_id)] == [mine["shop_id"]]
    finally:
        await engine.dispose()
