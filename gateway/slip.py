"""A printed slip as rows, in the shop's words: receipts, Z-reports and the printer test page.

The rows say what is printed and how it is laid out (centred, label and amount, plain text, a rule,
a QR code), not how a printer is driven: gateway/escpos_receipt.py sends them as ESC/POS text when
they are plain ASCII, and as one raster image (gateway/urdu_raster.py) when they need shaping.

The receipt's rows follow web_till/receipt.js drawSlip and the Z-report's web_till/shift.js
drawZReport, from the same models (gateway/receipt_model.py), so paper and screen agree. The Urdu
words are web_till/i18n.js's (tests/gateway/test_print_slip.py checks each against it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from .dashboard import format_rs  # web_till/money.js formatRs
from .receipt_model import document_time

RowKind = Literal["center", "pair", "text", "rule", "qr"]


@dataclass(frozen=True)
class Row:
    kind: RowKind
    text: str = ""          # centred or plain text, a pair's label, a QR code's data
    value: str = ""         # a pair's amount or value, at the line's end
    big: bool = False       # double size: marks and the shop's name
    bold: bool = False
    indent: bool = False    # a line's detail under it


# web_till/i18n.js URDU, for the phrases a slip prints (the English is the key, as on the till).
URDU = {
    "DUPLICATE": "نقل", "RETURN": "واپسی", "Phone": "فون", "NTN": "این ٹی این", "STRN": "ایس ٹی آر این",
    "Receipt": "رسید", "Original receipt": "اصل رسید", "Cashier": "کیشیئر", "Date": "تاریخ",
    "Discount": "رعایت", "Subtotal": "ذیلی کل", "Cart discount": "ٹوکری پر رعایت",
    "Cart discount {p}%": "ٹوکری پر رعایت {p}%", "POS service fee": "POS سروس فیس", "Total": "کل",
    "Total refunded": "کل واپس", "GST included": "جی ایس ٹی شامل", "You saved {amount}": "آپ کی بچت {amount}",
    "Cash": "نقد", "Card": "کارڈ", "Wallet": "والیٹ", "Ref": "حوالہ", "unverified": "غیر تصدیق شدہ",
    "Change": "بقایا", "Reason": "وجہ", "{authority} invoice": "{authority} انوائس نمبر",
    "{authority}: pending": "{authority}: رپورٹ ہونا باقی", "POS registration": "POS رجسٹریشن",
    "g": "گرام", "kg": "کلو", "ml": "ملی لیٹر", "l": "لیٹر",
    "Z-REPORT": "زیڈ رپورٹ", "Till": "ٹِل", "Sales": "فروخت", "Sales total": "کل فروخت", "Returns": "واپسیاں",
    "Returns total": "کل واپسی", "Discounts": "رعایتیں", "GST": "جی ایس ٹی", "By tender": "ادائیگی کے طریقے سے",
    "By cashier": "کیشیئر کے حساب سے", "sale": "فروخت", "sales": "فروخت", "return": "واپسی", "returns": "واپسیاں", "Opening float": "ابتدائی نقدی",
    "Paid in": "نقدی جمع", "Paid out": "نقدی نکالی", "Expected cash": "متوقع نقدی", "Counted cash": "گنی ہوئی نقدی",
    "Over": "زیادہ", "Short": "کم", "Cash matches": "نقدی پوری ہے", ", ": "، ", "Confirmed: card {c}, wallet {w}": "تصدیق شدہ: کارڈ {c}، والیٹ {w}",
    # Khata (issue 10)
    "On account": "ادھار کھاتے میں", "Customer": "گاہک", "Balance after": "اس کے بعد کھاتے کا بیلنس",
    "Khata payments received": "کھاتے کی وصولیاں", "KHATA PAYMENT": "کھاتے کی ادائیگی",
    "Amount received": "وصول شدہ رقم", "Note": "نوٹ", "{amount} in advance": "{amount} پیشگی",
    "Balance after, as known to this tablet": "اس کے بعد کھاتے کا بیلنس، جتنا اس ٹیبلٹ کو معلوم ہے",
}

TENDER_WORDS = {"cash": "Cash", "card": "Card", "wallet": "Wallet", "on_account": "On account"}

Words = Callable[..., str]


def words(language: str) -> Words:
    """t(phrase, **params) in `language`, as web_till/i18n.js t() (without its isolates: the raster
    lays mixed Urdu and Latin out itself)."""
    def t(english: str, **params: Any) -> str:
        text = URDU.get(english, english) if language == "ur" else english
        return text.format(**{k: str(v) for k, v in params.items()}) if params else text
    return t


def _rule() -> Row:
    return Row("rule")


def receipt_rows(model: dict[str, Any], language: str = "en") -> list[Row]:
    """A receipt (receipt_model's dict) as rows, in drawSlip's order."""
    t = words(language)
    rows: list[Row] = []
    if model["duplicate"]:
        rows.append(Row("center", t("DUPLICATE"), big=True, bold=True))
    if model["refund"]:
        rows.append(Row("center", t("RETURN"), big=True, bold=True))
    if model.get("khataPayment"):
        rows.append(Row("center", t("KHATA PAYMENT"), big=True, bold=True))
    rows.append(Row("center", model["shop"], big=True, bold=True))
    rows += [Row("center", text) for text in (
        model["address"], model["phone"] and f"{t('Phone')} {model['phone']}",
        model["ntn"] and f"{t('NTN')} {model['ntn']}", model["strn"] and f"{t('STRN')} {model['strn']}") if text]
    rows += [_rule(), Row("pair", t("Receipt"), model["number"])]
    if model["refund"]:
        rows.append(Row("pair", t("Original receipt"), model["original"]))
    rows += [Row("pair", t("Cashier"), model["cashier"]), Row("pair", t("Date"), model["when"]), _rule()]
    rows += _khata_payment_rows(model, t) if model.get("khataPayment") else _sale_rows(model, t)
    rows += fiscal_rows(model["fiscal"], t)
    if model["footer"]:
        rows += [_rule(), Row("center", model["footer"])]
    return rows


def _sale_rows(model: dict[str, Any], t: Words) -> list[Row]:
    """A sale's or return's body: its lines, totals, tenders, change, customer and reason."""
    rows: list[Row] = []
    for line in model["lines"]:
        rows.append(Row("pair", line["name"], format_rs(line["amount"])))
        detail = (f"{line['qty']} @ {format_rs(line['unitPrice'])}/{t(line['perUnit'])}" if line["perUnit"]
                  else f"{line['qty']} × {format_rs(line['unitPrice'])}")
        if line["discount"]:
            detail += f"  {t('Discount')} −{format_rs(line['discount'])}"
        rows.append(Row("text", detail, indent=True))
    rows.append(_rule())
    if model["cartDiscount"]:
        rows.append(Row("pair", t("Subtotal"), format_rs(model["total"] - model["serviceFee"] + model["cartDiscount"])))
        label = (t("Cart discount {p}%", p=_percent(model["cartDiscountBp"])) if model["cartDiscountBp"]
                 else t("Cart discount"))
        rows.append(Row("pair", label, f"−{format_rs(model['cartDiscount'])}"))
    if model["serviceFee"]:
        rows.append(Row("pair", t("POS service fee"), format_rs(model["serviceFee"])))
    rows.append(Row("pair", t("Total refunded") if model["refund"] else t("Total"), format_rs(model["total"]),
                    bold=True))
    rows.append(Row("pair", t("GST included"), format_rs(model["tax"])))
    if model["discount"]:
        rows.append(Row("text", t("You saved {amount}", amount=format_rs(model["discount"]))))
    rows.append(_rule())
    rows += _tender_rows(model, t)
    # Change is only ever given from cash: a card, wallet or on-account sale has no "Change Rs 0" row.
    if not model["refund"] and any(p["tender"] == "cash" for p in model["payments"]):
        rows.append(Row("pair", t("Change"), format_rs(model["change"]), bold=True))
    rows += _customer_rows(model, t)
    if model["reason"]:
        rows.append(Row("text", f"{t('Reason')}: {model['reason']}"))
    return rows


def _tender_rows(model: dict[str, Any], t: Words) -> list[Row]:
    rows = []
    for p in model["payments"]:
        name = t(TENDER_WORDS[p["tender"]]) + (f" ({p['wallet']})" if p["wallet"] else "")
        rows.append(Row("pair", name, format_rs(p["amount"])))
        if p["reference"]:
            rows.append(Row("text", f"{t('Ref')} {p['reference']}", indent=True))
        if p["unverified"]:
            rows.append(Row("text", t("unverified"), indent=True, bold=True))
    return rows


def _customer_rows(model: dict[str, Any], t: Words) -> list[Row]:
    """Whose khata the document went to, and their balance after it when known (drawSlip's block)."""
    customer = model.get("customer")
    if not customer:
        return []
    rows = [_rule(), Row("pair", t("Customer"), customer["name"])]
    if customer["balanceAfter"] is not None:
        label = t("Balance after, as known to this tablet") if customer["tabletOnly"] else t("Balance after")
        rows.append(Row("pair", label, balance_text(customer["balanceAfter"], t)))
    return rows


def balance_text(paisa: int, t: Words) -> str:
    """web_till/receipt.js balanceText: "Rs 1,300" owed, "Rs 500 in advance" when the shop owes the customer."""
    return t("{amount} in advance", amount=format_rs(-paisa)) if paisa < 0 else format_rs(paisa)


def _khata_payment_rows(model: dict[str, Any], t: Words) -> list[Row]:
    """A khata payment's body: what was received (no GST in it: the sales it pays for carried their
    own), how, the customer and their balance after, the note."""
    rows = [Row("pair", t("Amount received"), format_rs(model["total"]), bold=True), _rule(), *_tender_rows(model, t),
            *_customer_rows(model, t)]
    if model["note"]:
        rows.append(Row("text", f"{t('Note')}: {model['note']}"))
    return rows


def fiscal_rows(block: dict[str, Any] | None, t: Words) -> list[Row]:
    """The FBR / PRA block (drawSlip's fiscalPart): the mark, the invoice number and its QR code once
    fiscalized, else "pending"; the POS registration."""
    if not block:
        return []
    name = block["authority"]
    rows = [_rule(), Row("center", f"{name} POS", bold=True)]
    if block["number"]:
        # The printer draws the QR code from the number itself (the till's data URI is for screens).
        rows += [Row("center", t("{authority} invoice", authority=name)), Row("center", block["number"], bold=True),
                 Row("qr", block["number"])]
    else:
        rows.append(Row("center", t("{authority}: pending", authority=name)))
    if block["posId"]:
        rows.append(Row("center", f"{t('POS registration')} {block['posId']}"))
    return rows


def _percent(bp: int) -> str:
    """web_till's `bp / 100` as JavaScript prints it: 1000 -> "10", 1250 -> "12.5"."""
    whole, rest = divmod(bp, 100)
    return f"{whole}{'.' + f'{rest:02d}'.rstrip('0') if rest else ''}"


def over_short_word(paisa: int, t: Words) -> str:
    """The drawer against what it should hold (web_till/shift.js overShortWord): the amount beside it is
    written without a sign ("Short Rs 40", not "Short -Rs 40")."""
    if paisa > 0:
        return t("Over")
    return t("Short") if paisa < 0 else t("Cash matches")


def z_report_rows(report: dict[str, Any], *, shop_name: str, device_code: str, number: str,
                  cashier_names: Callable[[str], str], language: str = "en") -> list[Row]:
    """A shift's Z-report (receipt_model.z_report's dict) as rows, in drawZReport's order.

    `number` is the receipt number of the shift_close ("" while the box holds the shift open only)."""
    t = words(language)
    opened, closed = document_time(report["opened_at"]), document_time(report["closed_at"])
    rows = [Row("center", t("Z-REPORT"), big=True, bold=True), Row("center", shop_name, bold=True),
            Row("center", f"{t('Till')} {device_code}" + (f" · {number}" if number else "")),
            Row("center", f"{opened} – {closed}" if closed else opened), _rule(),
            Row("pair", t("Sales"), str(report["sales_count"])),
            Row("pair", t("Sales total"), format_rs(report["sales_total"])),
            Row("pair", t("Returns"), str(report["returns_count"])),
            Row("pair", t("Returns total"), format_rs(report["returns_total"])),
            Row("pair", t("Discounts"), format_rs(report["discounts"]))]
    if report["service_fees"]:
        rows.append(Row("pair", t("POS service fee"), format_rs(report["service_fees"])))
    rows += [Row("pair", t("GST"), format_rs(report["tax"])), _rule(), Row("text", t("By tender"), bold=True)]
    rows += [Row("pair", t(TENDER_WORDS[tender]), format_rs(report["by_tender"][tender]))
             for tender in ("cash", "card", "wallet", "on_account")]
    # Khata payments taken in this shift: their cash is in the drawer (in the expected cash below).
    rows += [_rule(), Row("text", t("Khata payments received"), bold=True)]
    rows += [Row("pair", t(TENDER_WORDS[tender]), format_rs(report["khata_collected"][tender]))
             for tender in ("cash", "card", "wallet")]
    rows += [_rule(), Row("text", t("By cashier"), bold=True)]
    for cashier_id, row in report["by_cashier"].items():
        sales, returns = row["sales_count"], row["returns_count"]
        rows.append(Row("pair", f"{cashier_names(cashier_id)}: {sales} {t('sale' if sales == 1 else 'sales')}{t(', ')}"
                                f"{returns} {t('return' if returns == 1 else 'returns')}",
                        format_rs(row["sales_total"] - row["returns_total"])))
    rows += [_rule(), Row("pair", t("Opening float"), format_rs(report["opening_float"])),
             Row("pair", t("Paid in"), format_rs(report["paid_in"])),
             Row("pair", t("Paid out"), format_rs(report["paid_out"])),
             Row("pair", t("Expected cash"), format_rs(report["expected_cash"]))]
    if report["counted_cash"] is not None:
        rows += [Row("pair", t("Counted cash"), format_rs(report["counted_cash"])),
                 Row("pair", over_short_word(report["over_short"], t), format_rs(abs(report["over_short"])),
                     bold=True)]
    if report["confirmed"]:
        rows.append(Row("text", t("Confirmed: card {c}, wallet {w}", c=format_rs(report["confirmed"].get("card", 0)),
                                  w=format_rs(report["confirmed"].get("wallet", 0)))))
    return rows


URDU_SAMPLE = "یہ پرنٹر اردو رسید چھاپ سکتا ہے"   # "this printer can print an Urdu receipt"


def printer_check_rows(*, shop_name: str, printer_name: str, width_dots: int, when: str) -> list[Row]:
    """The owner's "Print test page": who and what, and a line of Urdu, so the page is a raster and
    shows the fonts and the shaping work on this printer."""
    return [Row("center", "POS Line", big=True, bold=True), Row("center", shop_name, bold=True),
            Row("center", "Printer test page"), _rule(), Row("pair", "Printer", printer_name),
            Row("pair", "Paper", f"{width_dots} dots ({80 if width_dots == 576 else 58} mm)"),
            Row("pair", "Printed", when), _rule(), Row("center", URDU_SAMPLE), Row("qr", "POS Line test page")]
