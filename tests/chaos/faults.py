"""The chaos controller: one fault at a time on the LAN, on the WAN, or a SIGKILL of the box or the cloud.

Every network fault kind comes once first (those acting on requests first, each half in a seeded
order; one that found no request comes again while the tablets sell), then kinds are drawn at random
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
        # The first round: the faults that act on requests first, while the tablets are selling and
        # requests flow (a lost reply, a duplicate or a reorder needs a request to act on), then cuts
        # and delays, which act on whatever is there; each half in a seeded order.
        first = [kind for kind in NETWORK_FAULTS if not kind.endswith(("_cut", "_delay"))]
        rest = [kind for kind in NETWORK_FAULTS if kind.endswith(("_cut", "_delay"))]
        self.rng.shuffle(first)
        self.rng.shuffle(rest)
        first += rest
        kinds = iter(first)
        pending = len(first)
        unacted: list[str] = []   # request faults of the first round that had nothing to act on
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
                kind = next(kinds)
                if not self.fault(kind, stop):
                    unacted.append(kind)
            elif selling() and unacted:
                # A request fault that found no request to act on (the uplink was backing off from a
                # cut, the cloud was down): again, while the tablets sell, until it has acted once.
                kind = unacted.pop(0)
                if not self.fault(kind, stop):
                    unacted.append(kind)
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

    def fault(self, kind: str, stop: threading.Event) -> bool:
        """One episode of `kind`; whether it acted (a request fault may find no request in its time)."""
        self.episodes[kind] += 1
        side, what = kind.split("_", 1)
        proxy = self.rig.lan if side == "lan" else self.rig.wan
        try:
            if what == "cut":
                proxy.set_mode("cut")
                stop.wait(self.rng.uniform(0.3, 2.5 if side == "lan" else 4.0))
                return True
            if what == "delay":
                proxy.set_mode("delay", delay_s=self.rng.uniform(0.05, 0.3 if side == "lan" else 0.8))
                stop.wait(self.rng.uniform(1.0, 3.0))
                return True
            if what == "lost_reply":
                count = self.rng.randint(1, 3)
                before = proxy.dropped_replies
                proxy.set_mode("drop_reply", drop=count)
                self._until(lambda: proxy.dropped_replies >= before + count, stop)
                return proxy.dropped_replies > before
            if side == "lan":   # duplicate, reorder: the tablets' own Wi-Fi
                tricks = self.rig.tricks
                done = tricks.done[what]
                tricks.arm(what, self.rng.randint(1, 4))
                self._until(lambda: tricks.armed(what) == 0, stop)
                return tricks.done[what] > done
            counter = "duplicated_requests" if what == "duplicate" else "reordered_requests"
            count = self.rng.randint(1, 3)
            before = getattr(proxy, counter)
            proxy.set_mode(what, drop=count)
            self._until(lambda: getattr(proxy, counter) >= before + count, stop)
            return getattr(proxy, counter) > before
        finally:
            proxy.set_mode("pass")
            if side == "lan":
                self.rig.tricks.disarm()

    @staticmethod
    def _until(acted: Callable[[], bool], stop: threading.Event) -> None:
        deadline = time.monotonic() + ACTING_CAP_S
        while not acted() and time.monotonic() < deadline and not stop.is_set():
            stop.wait(0.05)
