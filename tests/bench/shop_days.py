"""The big shop's trading days: each tablet's documents of a day, made up but valid and repeatable.

Four tablets (T1-T4) and three cashiers sell the demo catalog (cloud_api/demo_shop.py) from 09:30
to 22:30: 1-5 lines a sale, some loose goods, a few discounts, cash (with change), card and wallet
payments, about 2% of sales returned later the same day, a shift per tablet per day (opened with a
float, closed with a count) and a paid-out for tea. `plan_days` spreads the sales over the days and
tablets; `documents_of_day` makes one tablet's day from its plan, the same documents every time.
"""
from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from cloud_api.contract import line_tax, loose_amount, percent_of
from cloud_api.demo_shop import LOOSE, PRODUCTS

TZ, OFFSET = "Asia/Karachi", "+05:00"    # Pakistan keeps no summer time: local = UTC+5 all year
DEVICES = [("big-tablet-1", "T1", 0.34), ("big-tablet-2", "T2", 0.28), ("big-tablet-3", "T3", 0.22),
           ("big-tablet-4", "T4", 0.16)]
CASHIERS = ["c1", "c2", "c3"]            # c1 is the demo cashier; c2 and c3 are added
REFUND_SHARE = 0.02
OPENING_FLOAT = 500_000
_PRODUCT_WEIGHTS = [12, 6, 14, 3, 6, 4, 5, 8, 10, 9, 9, 4, 4, 3, 3]   # milk and snacks sell most


@dataclass(frozen=True)
class DevicePlan:
    day: str
    device: int            # index into DEVICES
    sales: int
    refunds: int
    seq_start: int         # the seq before this day's first document


def documents_of_day(plan: DevicePlan, shop_id: str) -> list[dict[str, Any]]:
    """One tablet's documents of one day, in seq order; the same plan always gives the same documents."""
    rng = random.Random(f"{shop_id}/{plan.day}/{plan.device}")
    device_id, code, _ = DEVICES[plan.device]
    cashier = CASHIERS[(date.fromisoformat(plan.day).toordinal() + plan.device) % len(CASHIERS)]
    opening, closing = 9 * 3600, 23 * 3600
    sale_times = sorted(rng.randrange(9 * 3600 + 1800, 22 * 3600 + 1800) for _ in range(plan.sales))
    refunded = set(rng.sample(range(plan.sales), plan.refunds))
    # (second of the day, what): sorted, these are the tablet's documents in the order it made them.
    events: list[tuple[int, int, str, int]] = [(opening, 0, "shift_open", 0), (16 * 3600, 1, "cash_movement", 0),
                                               (closing, 3, "shift_close", 0)]
    events += [(t, 2, "sale", n) for n, t in enumerate(sale_times)]
    events += [(min(sale_times[n] + rng.randrange(300, 3 * 3600), closing - 60), 2, "refund", n) for n in refunded]
    events.sort()
    shift_id = _uuid(rng)
    sales: dict[int, dict[str, Any]] = {}
    docs: list[dict[str, Any]] = []
    cash, card, wallet = 0, 0, 0
    for seq, (second, _, kind, n) in enumerate(events, start=plan.seq_start + 1):
        base = {"id": shift_id if kind == "shift_open" else _uuid(rng), "kind": kind, "device_id": device_id,
                "device_code": code, "seq": seq, "created_at": f"{plan.day}T{_clock(second)}{OFFSET}",
                "cashier_id": cashier}
        if kind == "shift_open":
            doc = dict(base, opening_float=OPENING_FLOAT)
        elif kind == "cash_movement":
            doc = dict(base, direction="out", amount=rng.choice([15000, 20000, 30000]), reason="Chai for staff",
                       shift_id=shift_id)
            cash -= doc["amount"]
        elif kind == "sale":
            doc = sales[n] = _sale(rng, base, shift_id)
            for payment in doc["payments"]:
                if payment["tender"] == "cash":
                    cash += payment["amount"]
                elif payment["tender"] == "card":
                    card += payment["amount"]
                else:
                    wallet += payment["amount"]
            cash -= doc["change"]
        elif kind == "refund":
            doc = _refund(base, sales[n], shift_id)
            cash -= doc["total"]
        else:
            expected = OPENING_FLOAT + cash
            doc = dict(base, shift_id=shift_id, counted_cash=expected + rng.choice([0, 0, 0, -5000, 1000]),
                       expected_cash=expected, confirmed={"card": card, "wallet": wallet})
        # document_hash without its canonical-form walk (parse_document does that walk, and checks this hash).
        doc["hash"] = hashlib.sha256(canonical_text(doc).encode()).hexdigest()
        docs.append(doc)
    return docs


def _sale(rng: random.Random, base: dict[str, Any], shift_id: str) -> dict[str, Any]:
    lines = []
    for index in rng.choices(range(len(PRODUCTS)), _PRODUCT_WEIGHTS, k=rng.choice([1, 1, 2, 2, 3, 3, 4, 5])):
        sku, name, price, _, _ = PRODUCTS[index]
        unit = LOOSE.get(sku, "each")
        qty = rng.choice([250, 500, 1000, 1500, 2000]) if unit != "each" else rng.choice([1, 1, 1, 2, 2, 3])
        full = loose_amount(qty, price) if unit != "each" else qty * price
        discount = percent_of(full, 500) if rng.random() < 0.03 else 0
        line = {"sku": sku, "name": name, "qty": qty, "unit": unit, "unit_price": price, "gst_bp": 1800,
                "amount": full - discount, "tax": line_tax(full - discount, 1800)}
        if discount:
            line["discount"] = discount
        lines.append(line)
    total = sum(line["amount"] for line in lines)
    doc = dict(base, lines=lines, total=total, tax=sum(line["tax"] for line in lines), change=0, shift_id=shift_id)
    discount = sum(line.get("discount", 0) for line in lines)
    if discount:
        doc["discount"] = discount
    pick = rng.random()
    if pick < 0.6:   # cash, paid up to the next Rs 100 note
        paid = -(-total // 10000) * 10000
        doc.update(payments=[{"tender": "cash", "amount": paid}], change=paid - total)
    elif pick < 0.85:
        doc["payments"] = [{"tender": "card", "amount": total, "reference": f"AUTH{rng.randrange(10**6):06d}"}]
    else:
        doc["payments"] = [{"tender": "wallet", "amount": total, "wallet": rng.choice(["jazzcash", "easypaisa"]),
                            "reference": f"TX{rng.randrange(10**10):010d}", "unverified": rng.random() < 0.02}]
    return doc


def _refund(base: dict[str, Any], sale: dict[str, Any], shift_id: str) -> dict[str, Any]:
    """The whole first line of `sale` returned, paid back in cash."""
    line = sale["lines"][0]
    back = {k: line[k] for k in ("sku", "name", "qty", "unit", "unit_price", "gst_bp", "amount", "tax")}
    return dict(base, original_id=sale["id"], original_receipt=f"{sale['device_code']}-{sale['seq']:06d}",
                lines=[dict(back, line_index=0)], payments=[{"tender": "cash", "amount": line["amount"]}],
                total=line["amount"], tax=line["tax"], reason="Customer changed their mind", shift_id=shift_id)


def canonical_text(value: Any) -> str:
    """contract.canonical_json as text, without its walk over the value (for values known canonical)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _clock(second: int) -> str:
    return f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def plan_days(days: list[str], sales: int, seq_after: dict[int, int], salt: str) -> list[DevicePlan]:
    """Split `sales` over `days` (weekends busier) and the tablets, with each tablet's seqs running on."""
    weights = [1.3 if date.fromisoformat(d).weekday() >= 4 else 1.0 for d in days]   # Fri-Sun
    per_day = _shares(sales, weights)
    plans, seq = [], dict(seq_after)
    for day, count in zip(days, per_day):
        rng = random.Random(f"{salt}/{day}/plan")
        for device, n in enumerate(_shares(count, [w for _, _, w in DEVICES])):
            refunds = sum(1 for _ in range(n) if rng.random() < REFUND_SHARE)
            plans.append(DevicePlan(day, device, n, refunds, seq.get(device, 0)))
            seq[device] = seq.get(device, 0) + n + refunds + 3    # + shift open, paid-out, shift close
    return plans


def _shares(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, whole numbers adding up to exactly `total`."""
    exact = [total * w / sum(weights) for w in weights]
    out = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - out[i], reverse=True)[:total - sum(out)]:
        out[i] += 1
    return out
