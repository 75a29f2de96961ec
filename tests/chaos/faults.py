"""The chaos controller: one fault at a time on the LAN, on the WAN, or a SIGKILL of the box or the cloud.

Every network fault kind comes once first (in a seeded order), then kinds are drawn at random
while the tablets sell, now and then a LAN fault and a WAN fault at once. Kills are spread over the run: kill i falls due when the sales are
(i + 0.5) / kills of the way through, alternating box and cloud, after a random wait so it lands
at a random moment of the traffic. A killed process stays down a random while, then is started
again and waited for. Faults that act on requests (lost replies, duplicates, reorders) last
until they have acted or a few seconds have passed.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from tests.e2e.conftest import ShopRig
from tests.faultproxy import FaultProxy

from .till import LanTricks

NETWORK_FAULTS = ("lan_cut", "lan_delay", "lan_lost_reply", "lan_duplicate", "lan_reorder",
                  "wan_cut", "wan_delay", "wan_lost_reply", "wan_duplicate", "wan_reorder")
KILLS = ("kill_box", "kill_cloud")
ACTING_CAP_S = 6.0   # how long a request fault waits for requests to act on
OVERLAP = 0.2        # after the first round, the share of faults that hit the LAN and the WAN at once


@dataclass
class ChaosRig:
    """What the controller may break: the e2e shop (cloud, WAN proxy, box), the LAN proxy, the tablets' Wi-Fi."""

    shop: ShopRig
    lan: FaultProxy       # TLS passes through it untouched: the tablets verify the box's certificate
    tricks: LanTricks     # the tablets' own Wi-Fi: duplicated and reordered requests

    @property
    def wan(self) -> FaultProxy:
        return self.shop.proxy

    @property
    def lan_url(self) -> str:
        """The box as the tablets reach it: through the LAN proxy, on the name its certificate carries."""
        return f"https://127.0.0.1:{self.lan.port}"


@dataclass
class Chaos:
    """Runs the faults and kills, one after another, and counts them by kind."""

    rig: ChaosRig
    rng: random.Random
    kills: int
    episodes: Counter[str] = field(default_factory=Counter)
    down_s: float = 0.0           # time the box or the cloud was down, in all

    def run(self, progress: Callable[[], float], selling: Callable[[], bool], stop: threading.Event,
            deadline: float) -> None:
        """Inject faults until the tablets stop selling and every kill is done (or `stop`, or the deadline)."""
        first = list(NETWORK_FAULTS)
        self.rng.shuffle(first)
        kinds = iter(first)
        pending = len(first)
        order = list(KILLS)
        self.rng.shuffle(order)
        while not stop.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"chaos did not finish before its deadline: {dict(self.episodes)}")
            killed = self.episodes["kill_box"] + self.episodes["kill_cloud"]
            if killed < self.kills and (progress() >= (killed + 0.5) / self.kills or not selling()):
                stop.wait(self.rng.uniform(0, 0.5))
                self.kill(order[killed % 2], stop)
            elif pending:
                pending -= 1
                self.fault(next(kinds), stop)
            elif selling() and self.rng.random() < OVERLAP:
                self.both(self.rng.choice(NETWORK_FAULTS[:5]), self.rng.choice(NETWORK_FAULTS[5:]), stop)
            elif selling():
                self.fault(self.rng.choice(NETWORK_FAULTS), stop)
            else:
                return
            stop.wait(self.rng.uniform(0.1, 0.8))   # calm between two faults

    def calm(self) -> None:
        """Every link passes again."""
        self.rig.lan.set_mode("pass")
        self.rig.wan.set_mode("pass")
        self.rig.tricks.disarm()

    def kill(self, kind: str, stop: threading.Event) -> None:
        service = self.rig.shop.gateway if kind == "kill_box" else self.rig.shop.cloud
        started = time.monotonic()
        service.kill()
        self.episodes[kind] += 1
        stop.wait(self.rng.uniform(0, 1.5 if kind == "kill_box" else 3.0))
        service.start(timeout_s=60)
        self.down_s += time.monotonic() - started

    def both(self, lan_kind: str, wan_kind: str, stop: threading.Event) -> None:
        """A LAN fault and a WAN fault at the same time."""
        self.episodes["overlapping"] += 1
        lan = threading.Thread(target=self.fault, args=(lan_kind, stop), name="chaos-lan", daemon=True)
        lan.start()
        try:
            self.fault(wan_kind, stop)
        finally:
            lan.join(ACTING_CAP_S + 10)

    def fault(self, kind: str, stop: threading.Event) -> None:
        self.episodes[kind] += 1
        side, what = kind.split("_", 1)
        proxy = self.rig.lan if side == "lan" else self.rig.wan
        try:
            if what == "cut":
                proxy.set_mode("cut")
                stop.wait(self.rng.uniform(0.3, 2.5 if side == "lan" else 4.0))
            elif what == "delay":
                proxy.set_mode("delay", delay_s=self.rng.uniform(0.05, 0.3 if side == "lan" else 0.8))
                stop.wait(self.rng.uniform(1.0, 3.0))
            elif what == "lost_reply":
                count = self.rng.randint(1, 3)
                before = proxy.dropped_replies
                proxy.set_mode("drop_reply", drop=count)
                self._until(lambda: proxy.dropped_replies >= before + count, stop)
            elif side == "lan":   # duplicate, reorder: the tablets' own Wi-Fi
                tricks = self.rig.tricks
                tricks.arm(what, self.rng.randint(1, 4))
                self._until(lambda: tricks.armed(what) == 0, stop)
            else:
                counter = "duplicated_requests" if what == "duplicate" else "reordered_requests"
                count = self.rng.randint(1, 3)
                before = getattr(proxy, counter)
                proxy.set_mode(what, drop=count)
                self._until(lambda: getattr(proxy, counter) >= before + count, stop)
        finally:
            proxy.set_mode("pass")
            if side == "lan":
                self.rig.tricks.disarm()

    @staticmethod
    def _until(acted: Callable[[], bool], stop: threading.Event) -> None:
        deadline = time.monotonic() + ACTING_CAP_S
        while not acted() and time.monotonic() < deadline and not stop.is_set():
            stop.wait(0.05)
