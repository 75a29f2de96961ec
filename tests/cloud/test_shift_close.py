"""A shift's close may expect less than nothing in the drawer, and the contract stores it."""
from __future__ import annotations

import pytest

from cloud_api.contract import MAX_PAISA, InvalidDocument, parse_document
from tests.cloud.counter_documents import shift_close, shift_open


def test_a_drawer_that_paid_out_more_than_it_took_expects_a_negative_amount() -> None:
    # Float Rs 0, then a Rs 200 cash refund: the till expects -Rs 200 and the cashier counts Rs 0.
    opened = shift_open(1, 0)
    closed = parse_document(shift_close(2, opened["id"], 0, expected_cash=-20000))
    assert closed.expected_cash == -20000


def test_expected_cash_stays_inside_the_money_bounds() -> None:
    opened = shift_open(1, 0)
    with pytest.raises(InvalidDocument, match="expected_cash"):
        parse_document(shift_close(2, opened["id"], 0, expected_cash=-MAX_PAISA - 1))
