"""The shop box's storage fills up (a real, small filesystem): the tablet says so in words, keeps
its sales, and once space returns every sale lands in the cloud once and the box's database is sound."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from gateway.demo import cloud_service, gateway_service, run_command

from .conftest import FAST_GATEWAY, OWNER_PIN, ShopRig, free_port, wait_until
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.e2e
FS_MB = 24


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[ShopRig]:
    """The usual shop, but the box's state directory is a 24 MiB filesystem of its own."""
    boxfs = tmp_path / "gateway"
    boxfs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_MB}m,mode=0700", "tmpfs", str(boxfs)], check=True)
    shop = json.loads(run_command("cloud", "create-shop", "--name", "Madina General Store", "--demo",
                                  "--db", f"sqlite:///{tmp_path / 'cloud.db'}"))
    cloud = cloud_service(tmp_path / "cloud.db", free_port(), tmp_path / "cloud.log").start()
    proxy = FaultProxy(int(cloud.url.rsplit(":", 1)[1])).start()
    gateway = None
    try:
        run_command("gateway", "provision", "--state-dir", str(boxfs), "--cloud-url", proxy.url,
                    "--enrol-token", shop["enrol_token"], "--admin-pin", OWNER_PIN)
        https_port, http_port = free_port(), free_port()
        gateway = gateway_service(boxfs, https_port, tmp_path / "gateway.log", FAST_GATEWAY,
                                  http_port=http_port).start()
        yield ShopRig(tmp_path, cloud, proxy, gateway, shop, https_port, http_port)
    finally:
        if gateway:
            gateway.stop()
        cloud.stop()
        proxy.stop()
        subprocess.run(["umount", "-l", str(boxfs)], capture_output=True)


def fill(path: Path) -> None:
    """Take every free byte of the filesystem that holds `path` (unbuffered writes until ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass   # ENOSPC at this size; go on with a smaller one
    finally:
        os.close(fd)
    assert os.statvfs(path.parent).f_bavail == 0


def test_a_full_box_is_said_in_words_and_nothing_is_lost(rig, tablets):
    tablet = tablets().open_and_pair()
    assert tablet.sell(["Tapal Danedar 190g"]) == "T1-000001"
    tablet.wait_status(r"^Online · 0 unsynced$")

    filler = rig.state_dir / "filler"
    fill(filler)
    numbers = []
    for basket in (["Lux Soap 130g"], ["Coca-Cola 1.5L", "Olper's Milk 1L"], ["Dalda Cooking Oil 1L"]) * 3:
        numbers.append(tablet.sell(basket))   # the counter never waits for the box
        if tablet.status().inner_text().startswith("Shop box full"):
            break
    tablet.wait_status(r"^Shop box full · \d+ unsynced$")
    tablet.expect(tablet.page.get_by_role("alert").filter(has_text="The shop box's storage is full.")).to_be_visible()
    tablet.screenshot("10-box-full")
    kept = [row for row in tablet.journal() if row["state"] == "pending"]
    assert kept, "the tablet keeps what the box could not take"

    filler.unlink()   # the owner frees space (or the box is given a bigger card)
    tablet.wait_status(r"^Online · 0 unsynced$", timeout_s=45)
    documents = wait_until(lambda: (docs := rig.cloud_documents()) and len(docs) == 1 + len(numbers) and docs,
                           what="every sale in the cloud")
    counts = Counter(doc["id"] for doc in documents)
    assert set(counts.values()) == {1}
    assert sorted(doc["receipt_number"] for doc in documents) == ["T1-000001", *sorted(numbers)]
    rig.gateway.stop()
    with sqlite3.connect(rig.state_dir / "gateway.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
