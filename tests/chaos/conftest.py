"""The chaos soak's shop: the e2e rig (real cloud and box processes, a fault proxy on the WAN)
plus a fault proxy on the LAN, between the simulated tablets and the box's HTTPS port."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.e2e.conftest import ShopRig, rig  # noqa: F401  (the fixture: cloud, WAN proxy, box)
from tests.faultproxy import FaultProxy

from .faults import ChaosRig
from .till import LanTricks


@pytest.fixture
def chaos_rig(rig: ShopRig) -> Iterator[ChaosRig]:  # noqa: F811
    lan = FaultProxy(rig.https_port, tls=True).start()
    try:
        yield ChaosRig(rig, lan, LanTricks())
    finally:
        lan.stop()
