"""A line's returns pay back exactly what was paid for it, however they are split."""
from __future__ import annotations

from hypothesis import given, strategies as st

from cloud_api.contract import MAX_PAISA, refund_line_amount


@given(sold_amount=st.integers(0, MAX_PAISA), sold_qty=st.integers(1, 1000), data=st.data())
def test_returns_of_a_line_add_up_to_what_was_paid(sold_amount: int, sold_qty: int, data) -> None:
    parts = data.draw(st.lists(st.integers(1, sold_qty), max_size=20))
    before, paid_back = 0, 0
    for qty in parts:
        qty = min(qty, sold_qty - before)
        if qty == 0:
            break
        amount = refund_line_amount(sold_amount, sold_qty, qty, before)
        assert amount >= 0
        paid_back += amount
        before += qty
    if before == sold_qty:
        assert paid_back == sold_amount            # all of it returned: every paisa, never one more
    assert paid_back <= sold_amount


def test_one_at_a_time_never_pays_more_than_was_paid() -> None:
    # 3 sold for Rs 2.00: per-return rounding would pay 67 + 67 + 67 = 201 paisa.
    assert [refund_line_amount(200, 3, 1, n) for n in range(3)] == [67, 66, 67]
    assert refund_line_amount(200, 3, 3) == 200
