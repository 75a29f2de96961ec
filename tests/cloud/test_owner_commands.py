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
