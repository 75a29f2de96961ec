"""The products CSV: rupees read as text into paisa, strict columns, every bad row named, round trip."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cloud_api.contract import Product
from cloud_api.office.products import MESSAGES
from cloud_api.office.words import URDU, translate
from cloud_api.product_import import (COLUMNS, MAX_BYTES, MAX_ROWS, Said, parse_csv, parse_percent, parse_rupees,
                                      percent_text, products_csv, rupees_text, say)

HEADER = "sku,name,name_ur,barcode,category,gst_percent,unit,price_rs,low_stock_at\n"


def _errors(text: str) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.message) for e in parse_csv(text.encode()).errors]


@pytest.mark.parametrize("typed, paisa", [("550", 55000), ("549.5", 54950), ("549.50", 54950), ("0.05", 5),
                                          ("1,234.50", 123450), ("Rs 1,234.50", 123450), ("rs.99", 9900),
                                          (" 12 ", 1200), ("1234567,", None), ("12.345", None), ("-5", None),
                                          ("1,23.00", None), ("5e2", None), ("", None), ("Rs", None),
                                          ("١٢", 1200), ("۵۴۹٫۵۰", 54950), ("²", None), ("9" * 5000, None), ("0.1", 10), ("99999999.99", 9999999999)])
def test_rupees_are_read_as_text_into_paisa(typed: str, paisa: int | None):
    if paisa is None:
        with pytest.raises(ValueError):
            parse_rupees(typed)
    else:
        assert parse_rupees(typed) == paisa
        assert parse_rupees(rupees_text(paisa)) == paisa


def test_gst_percent_is_basis_points():
    assert [parse_percent(p) for p in ("18", "17.5", "0", "18%", "100")] == [1800, 1750, 0, 1800, 10000]
    for bad in ("100.01", "-1", "18.123", "abc"):
        with pytest.raises(ValueError):
            parse_percent(bad)
    assert [percent_text(bp) for bp in (1800, 1750, 1755, 0)] == ["18", "17.5", "17.55", "0"]


def test_a_good_file_with_a_bom_and_crlf_reads_to_products():
    data = ("\ufeff" + HEADER + "TAPAL-190,Tapal Danedar 190g,تپال,8961008210019,Tea,18,each,550,5\r\n"
            "SUGAR,Sugar,,,Loose,0,KG,160.00,\r\n\r\n").encode()
    parsed = parse_csv(data)
    assert parsed.problem is None and parsed.errors == []
    assert parsed.good == [
        Product(sku="TAPAL-190", name="Tapal Danedar 190g", name_ur="تپال", barcode="8961008210019", category="Tea",
                gst_bp=1800, unit="each", price=55000, low_stock_at=5),
        Product(sku="SUGAR", name="Sugar", gst_bp=0, unit="kg", price=16000, category="Loose")]


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out():
    parsed = parse_csv(b"price_rs,gst_percent,name,sku\n10,18,Tea,T\n")
    assert parsed.good == [Product(sku="T", name="Tea", price=1000, gst_bp=1800)]


def test_each_bad_row_is_named_with_its_field():
    text = HEADER + ("A,Tea,,,,18,box,550,\n"          # row 2: unit
                     "B,,,,,18,each,550,\n"            # row 3: name
                     "A,Tea again,,,,18,each,5.5.5,\n"  # row 4: duplicate sku and price
                     ",No sku,,,,18,each,1,\n"          # row 5: sku
                     "C,Tea,,,,,each,1,x\n"             # row 6: gst and low stock
                     "D,Tea,,,,18,each,1\n")            # row 7: a cell short
    assert _errors(text) == [
        (2, "unit", "must be each, kg or l"),
        (3, "name", "is required"),
        (4, "sku", "A is also on row 2"),
        (4, "price_rs", "must be rupees with up to 2 decimals, e.g. 549.50"),
        (5, "sku", "is required"),
        (6, "gst_percent", "is required (0 for goods without GST)"),
        (6, "low_stock_at", "must be a whole number (pieces, or grams / ml when sold loose)"),
        (7, "row", "has 8 cells, the header 9")]
    assert parse_csv(text.encode()).good == []


def test_limits_of_the_contract_hold():
    long_name = "x" * 201
    assert _errors(HEADER + f"A,{long_name},,,,18,each,1,\n") == [(2, "name", "must be at most 200 characters")]
    assert _errors(HEADER + "A,Tea,,,,18,each,100000001,\n") == [(2, "price_rs", "must be at most Rs 100,000,000")]
    assert _errors(HEADER + "A,Tea,,,,18,each,1,99999999999\n")[0][1] == "low_stock_at"


@pytest.mark.parametrize("data, problem", [
    (b"", "the file is empty"),
    (b"A,Tea,550\n", "the first row must name the columns"),
    (b"sku,name,price_rs\nA,Tea,550\n", "the first row must name the columns"),          # gst_percent missing
    (b"sku,name,gst_percent,price_rs,colour\nA,T,18,1,red\n", "the first row must name the columns"),
    (b"sku,name,gst_percent,price_rs,sku\nA,T,18,1,B\n", "the first row must name the columns"),
    ("sku,name,gst_percent,price_rs\nA,Chai,18,1\n".encode("utf-16"), "is not UTF-8"),
    (HEADER.encode(), "no products"),
    (b"x" * (MAX_BYTES + 1), "larger than"),
    ((HEADER + "".join(f"S{i},N,,,,18,each,1,\n" for i in range(MAX_ROWS + 1))).encode(), "more than"),
])
def test_a_file_that_cannot_be_read_says_why(data: bytes, problem: str):
    parsed = parse_csv(data)
    assert parsed.problem is not None and problem in parsed.problem and parsed.good == []


def test_export_reads_back_to_the_same_products():
    products = [Product(sku="=cmd", name='@SUM(1), "quoted"', name_ur="عجیب، نام", price=5, gst_bp=1750,
                        unit="l", low_stock_at=0, barcode="-12", category="+x"),
                Product(sku="'apostrophe", name="'=x", price=123456789, gst_bp=0, pct_code="0902.3000"),
                Product(sku="TEA", name="Tea", price=55000, gst_bp=1800, pct_code="09023000")]
    text = products_csv(products)
    assert "\n=" not in text and ",@" not in text and ",-" not in text   # no cell a spreadsheet would run
    parsed = parse_csv(text.encode())
    assert parsed.errors == [] and parsed.good == products
    assert products_csv(parsed.good) == text


def test_the_file_says_which_fields_it_changes_and_which_it_leaves_alone():
    parsed = parse_csv(b"price_rs,sku,gst_percent,name\n170,SUGAR-LOOSE,18,Sugar\n")
    assert parsed.errors == [] and parsed.columns == ("sku", "name", "gst_percent", "price_rs")
    assert parsed.fields == ("name", "gst_bp", "price")
    assert parsed.missing == ("name_ur", "barcode", "category", "unit", "low_stock_at", "pct_code")
    full = parse_csv((HEADER.rstrip("\n") + ",pct_code\n" + "A,Tea,,,,18,kg,1,,\n").encode())
    assert full.columns == COLUMNS and full.missing == ()
    assert set(full.fields) == set(Product.model_fields) - {"sku"}
    # A file from before the PCT code (nine columns) leaves every product's PCT code as it is.
    nine = parse_csv((HEADER + "A,Tea,,,,18,kg,1,\n").encode())
    assert nine.missing == ("pct_code",) and "pct_code" not in nine.fields


@pytest.mark.parametrize("typed, stored", [("09023000", "09023000"), ("0902.3000", "0902.3000"),
                                           (" 0902 3000 ", "09023000"), ("9023000", "09023000"),
                                           ("۰۹۰۲۳۰۰۰", "09023000"), ("", None)])
def test_a_pct_code_is_read_as_fbr_names_it(typed: str, stored: str | None):
    # 9023000: a spreadsheet opened 09023000 (tea) as a number and dropped the 0.
    parsed = parse_csv(f"sku,name,gst_percent,price_rs,pct_code\nTEA,Tea,18,550,{typed}\n".encode())
    assert parsed.errors == []
    assert parsed.good[0].pct_code == stored


@pytest.mark.parametrize("typed", ["0902", "0902-3000", "09023000X", "1234567890", "0902..3000", "abcdefgh"])
def test_a_bad_pct_code_is_named_on_its_row(typed: str):
    errors = _errors(f"sku,name,gst_percent,price_rs,pct_code\nTEA,Tea,18,550,{typed}\n")
    assert [(row, name) for row, name, _ in errors] == [(2, "pct_code")]
    assert errors[0][2] in ("must be a PCT code of 8 digits, e.g. 09023000 or 0902.3000",
                            "must be at most 9 characters")


def test_a_row_refused_later_becomes_a_bad_row():
    parsed = parse_csv((HEADER + "A,Tea,,,,18,kg,1,\nB,Tea,,,,18,each,1,\n").encode())
    parsed.refuse("A", "unit", Said("{sku} is also on row {row}", sku="A", row=9))
    assert [(e.row, e.field, e.message) for e in parsed.errors] == [(2, "unit", "A is also on row 9")]
    assert [p.sku for p in parsed.good] == ["B"] and parsed.bad_rows == 1


def test_messages_are_english_text_that_a_page_shows_in_urdu():
    parsed = parse_csv((HEADER + "A,Tea,,,,18,box,1,\nA,Tea,,,,18,each,1.234,\nC,Tea\n").encode())
    messages = [e.message for e in parsed.errors]
    assert messages == ["must be each, kg or l", "A is also on row 2",
                        "must be rupees with up to 2 decimals, e.g. 549.50", "has 2 cells, the header 9"]
    assert all(isinstance(m, Said) for m in messages)

    def urdu(phrase: str, **values: object) -> str:
        return translate(phrase, "ur", **values)
    assert [say(m, urdu) for m in messages] == [
        URDU["must be each, kg or l"], "A قطار 2 پر بھی ہے", URDU["must be rupees with up to 2 decimals, e.g. 549.50"],
        "اس میں 2 خانے ہیں، کالموں کی قطار میں 9"]
    assert say("is required", urdu) == URDU["is required"]   # a plain phrase (the pages' own) too
    problem = parse_csv("sku,name,gst_percent,price_rs\n".encode("utf-16")).problem
    assert problem is not None and say(problem, urdu) == URDU[problem.phrase]
    assert say(parse_csv(b"A,Tea\n").problem, urdu) == URDU["the first row must name the columns: {columns}"].format(
        columns=",".join(COLUMNS))


def test_every_message_the_import_and_the_catalog_can_say_has_urdu():
    # Every Said("...") of these modules (adjacent literals joined) is in office/products.MESSAGES, where the
    # words test sees it used, and has Urdu with the same placeholders.
    root = Path(__file__).resolve().parents[2] / "cloud_api"
    said = re.compile(r"""\bSaid\(((?:\s*"(?:[^"\\\n]|\\.)*")+)""")
    phrases = {ast.literal_eval("(" + match.group(1) + ")") for name in ("product_import.py", "catalog.py")
               for match in said.finditer((root / name).read_text(encoding="utf-8"))}
    assert len(phrases) > 20 and "{sku} is also on row {row}" in phrases
    assert phrases == set(MESSAGES)
    assert [phrase for phrase in phrases if phrase not in URDU] == []
