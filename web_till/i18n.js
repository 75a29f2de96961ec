// The till's words in English and Urdu. English text is the key: t("Pay") is "Pay" in English and
// its Urdu in Urdu; a phrase missing from URDU shows in English rather than not at all.
// Placeholders: t("{n} left", { n: 3 }). The language is per tablet (meta "language").
// tests/till/test_urdu.py fails for any t("...") phrase without Urdu here.

export const LANGUAGES = { en: { dir: "ltr", name: "English" }, ur: { dir: "rtl", name: "اردو" } };

export const URDU = {
  // The header and the link.
  "Online": "آن لائن",
  "Cloud offline": "کلاؤڈ سے رابطہ نہیں",
  "Offline": "آف لائن",
  "Connecting": "رابطہ ہو رہا ہے",
  "Shop box full": "دکان کا باکس بھر گیا",
  "{n} unsynced": "{n} ابھی نہیں بھیجے گئے",
  "Sync now": "ابھی بھیجیں",
  "Sign out": "سائن آؤٹ",
  "Sign out anyway": "پھر بھی سائن آؤٹ کریں",
  "The shop box's storage is full. Sales stay safe on this tablet and are sent when the box has room again; tell the owner.":
    "دکان کے باکس کی جگہ بھر گئی ہے۔ فروخت اس ٹیبلٹ پر محفوظ ہے اور باکس میں جگہ بنتے ہی بھیج دی جائے گی؛ مالک کو بتائیں۔",
  "This tablet's clock is {n} {unit} {way}. Set the date and time in the tablet's settings. Sales are still filed on the right day.":
    "اس ٹیبلٹ کی گھڑی {n} {unit} {way} ہے۔ ٹیبلٹ کی سیٹنگز میں تاریخ اور وقت درست کریں۔ فروخت پھر بھی صحیح دن میں درج ہو رہی ہے۔",
  "year": "سال", "years": "سال", "day": "دن", "days": "دن", "hour": "گھنٹہ", "hours": "گھنٹے",
  "minute": "منٹ", "minutes": "منٹ", "behind": "پیچھے", "ahead": "آگے",
  // The box's answers (api.js sayWhy).
  "Cannot reach the shop box. Is this tablet on the shop's Wi-Fi?": "دکان کے باکس سے رابطہ نہیں ہو رہا۔ کیا یہ ٹیبلٹ دکان کے وائی فائی پر ہے؟",
  "This tablet is not paired with the shop box. Ask the owner for a pairing code.": "یہ ٹیبلٹ دکان کے باکس سے جڑا ہوا نہیں۔ مالک سے جوڑنے کا کوڈ لیں۔",
  "The shop box's storage is full. Sales stay safe on this tablet; tell the owner.": "دکان کے باکس کی جگہ بھر گئی ہے۔ فروخت اس ٹیبلٹ پر محفوظ ہے؛ مالک کو بتائیں۔",
  "Too many tries. Wait a minute and try again.": "بہت زیادہ کوششیں۔ ایک منٹ رکیں پھر دوبارہ کوشش کریں۔",
  "The shop box had a problem. Sales stay safe on this tablet; it will try again.": "دکان کے باکس میں مسئلہ آیا۔ فروخت اس ٹیبلٹ پر محفوظ ہے؛ یہ دوبارہ کوشش کرے گا۔",
  "The shop box did not accept this request. Try again, or tell the owner.": "دکان کے باکس نے یہ درخواست قبول نہیں کی۔ دوبارہ کوشش کریں یا مالک کو بتائیں۔",
  "This tablet's storage is full. Tell the owner before making more sales.": "اس ٹیبلٹ کی جگہ بھر گئی ہے۔ مزید فروخت سے پہلے مالک کو بتائیں۔",
  "Something went wrong on this tablet. Your completed sales are safe.": "اس ٹیبلٹ پر کچھ گڑبڑ ہو گئی۔ آپ کی مکمل فروخت محفوظ ہے۔",
  "This tablet was removed from the shop box. Ask the owner for a new pairing code.": "یہ ٹیبلٹ دکان کے باکس سے ہٹا دیا گیا ہے۔ مالک سے جوڑنے کا نیا کوڈ لیں۔",
  "The owner has disabled this cashier. Sign in as another cashier.": "مالک نے یہ کیشیئر بند کر دیا ہے۔ کسی اور کیشیئر کے طور پر سائن اِن کریں۔",
  // Pairing, sign-in, start-up.
  "Pair": "جوڑیں",
  "Pair this till": "اس ٹِل کو جوڑیں",
  "Ask the owner for a pairing code. The owner makes one on the shop box's admin page (Pair a tablet); scanning its QR code with this tablet fills the code in for you.":
    "مالک سے جوڑنے کا کوڈ لیں۔ مالک یہ دکان کے باکس کے ایڈمن صفحے پر بناتا ہے (Pair a tablet)؛ اس کا QR کوڈ اس ٹیبلٹ سے اسکین کریں تو کوڈ خود بھر جائے گا۔",
  "Pairing code": "جوڑنے کا کوڈ",
  "Till name (optional)": "ٹِل کا نام (اختیاری)",
  "The pairing code has 6 digits.": "جوڑنے کا کوڈ ۶ ہندسوں کا ہے۔",
  "That pairing code is wrong, used or expired. Ask the owner for a new one on the box's admin page.":
    "یہ کوڈ غلط، استعمال شدہ یا پرانا ہے۔ مالک سے باکس کے ایڈمن صفحے سے نیا کوڈ لیں۔",
  "Who is signing in?": "کون سائن ان کر رہا ہے؟",
  "Sign in": "سائن ان",
  "PIN": "پن",
  "PIN pad": "پن کے بٹن",
  "Clear PIN": "پن مٹائیں",
  "Delete last digit": "آخری ہندسہ مٹائیں",
  "Cashier": "کیشیئر",
  "Waiting for the product list from the gateway…": "باکس سے اشیاء کی فہرست کا انتظار…",
  "This shop has no cashiers yet. Ask the owner to add one.": "اس دکان میں ابھی کوئی کیشیئر نہیں۔ مالک سے کہیں کہ ایک شامل کرے۔",
  "Choose your name, then type your PIN.": "اپنا نام چنیں، پھر اپنا پن لکھیں۔",
  "Your PIN can only be checked by the shop box, which this tablet cannot reach. Ask the owner for a new PIN (6 digits or more) so you can sign in without the box.":
    "آپ کا پن صرف دکان کا باکس جانچ سکتا ہے، اور یہ ٹیبلٹ اس تک نہیں پہنچ رہا۔ مالک سے نیا پن (۶ یا زیادہ ہندسے) لیں تاکہ باکس کے بغیر سائن ان ہو سکے۔",
  "This tablet could not check the PIN. Reload the till; if it keeps happening, tell the owner.":
    "یہ ٹیبلٹ پن نہیں جانچ سکا۔ ٹِل دوبارہ لوڈ کریں؛ بار بار ہو تو مالک کو بتائیں۔",
  "Wrong PIN.": "غلط پن۔",
  "Too many wrong PINs. Try again in {n} seconds.": "بہت سے غلط پن۔ {n} سیکنڈ بعد دوبارہ کوشش کریں۔",
  "POS Line is open in another tab": "POS Line دوسرے ٹیب میں کھلا ہے",
  "Each tablet sells from one tab. Close this one and use the other.": "ہر ٹیبلٹ ایک ہی ٹیب سے بیچتا ہے۔ یہ بند کریں اور دوسرا استعمال کریں۔",
  "Opening the till…": "ٹِل کھل رہا ہے…",
  "This tablet is not set up for the till yet": "یہ ٹیبلٹ ابھی ٹِل کے لیے تیار نہیں",
  "The till only works over the shop box's secure address, and this browser does not have a secure connection to it. Sales made like this could not be kept safely, so the till will not open here.":
    "ٹِل صرف دکان کے باکس کے محفوظ پتے پر چلتا ہے، اور اس براؤزر کا اس سے محفوظ رابطہ نہیں۔ ایسے کی گئی فروخت محفوظ نہیں رہ سکتی، اس لیے ٹِل یہاں نہیں کھلے گا۔",
  "Open the setup page on this tablet, install the box's certificate (one time, about a minute), then open the till from the link on that page.":
    "اس ٹیبلٹ پر سیٹ اپ کا صفحہ کھولیں، باکس کا سرٹیفکیٹ انسٹال کریں (ایک بار، تقریباً ایک منٹ)، پھر اسی صفحے کے لنک سے ٹِل کھولیں۔",
  "Open the setup page": "سیٹ اپ کا صفحہ کھولیں",
  "The till could not open": "ٹِل نہیں کھل سکا",
  "Your sales on this tablet are safe. Reload the page; if this keeps happening, tell the owner.":
    "اس ٹیبلٹ پر آپ کی فروخت محفوظ ہے۔ صفحہ دوبارہ لوڈ کریں؛ بار بار ہو تو مالک کو بتائیں۔",
  "Reload": "دوبارہ لوڈ کریں",
  // Selling.
  "Search products": "اشیاء تلاش کریں",
  "Categories": "اقسام",
  "Products": "اشیاء",
  "No product matches.": "کوئی چیز نہیں ملی۔",
  "Parked sales": "روکی گئی فروخت",
  "Low": "کم",
  "All": "سب",
  "{n} left": "{n} باقی",
  "Cart": "ٹوکری",
  "Prices changed since this was rung up": "بل بنانے کے بعد قیمتیں بدل گئی ہیں",
  "Update prices": "قیمتیں تازہ کریں",
  "Pay": "ادائیگی",
  "Park": "روک لیں",
  "Clear cart": "ٹوکری خالی کریں",
  "Tap a product to add it.": "شامل کرنے کے لیے کسی چیز پر ٹیپ کریں۔",
  "Discount {amount}": "رعایت {amount}",
  "Rung up at {price}": "بل میں قیمت {price}",
  "One less {name}": "ایک کم {name}",
  "Quantity of {name}": "{name} کی تعداد",
  "One more {name}": "ایک اور {name}",
  "Remove {name}": "{name} ہٹائیں",
  "Weight or amount": "وزن یا رقم",
  "Add": "شامل کریں",
  "Cancel": "منسوخ",
  "Type the volume (500 ml, 1.5 l) or the rupees asked for (Rs 50).": "مقدار لکھیں (500 ml، 1.5 l) یا جتنے روپے کا چاہیے (Rs 50)۔",
  "Type the weight (250 g, 1.5 kg) or the rupees asked for (Rs 50).": "وزن لکھیں (250 g، 1.5 kg) یا جتنے روپے کا چاہیے (Rs 50)۔",
  "Discount": "رعایت",
  "Apply to": "کس پر",
  "An amount (50) or a percent (10%). Empty takes the discount off.": "رقم (50) یا فیصد (10%)۔ خالی چھوڑیں تو رعایت ختم۔",
  "Apply": "لگائیں",
  "Whole cart": "پوری ٹوکری",
  "Your limit: {percent} of the price.": "آپ کی حد: قیمت کا {percent}۔",
  "Yes, clear the cart": "ہاں، ٹوکری خالی کریں",
  "Keep it": "رہنے دیں",
  "Close": "بند کریں",
  "Recall {what}": "واپس لائیں {what}",
  "Recall": "واپس لائیں",
  "No parked sales.": "کوئی روکی ہوئی فروخت نہیں۔",
  "Clear all {n} lines from the cart?": "ٹوکری سے تمام {n} اشیاء ہٹا دیں؟",
  "No product has the barcode {code}.": "بارکوڈ {code} والی کوئی چیز نہیں۔",
  "{name} is sold loose: tap it and type the weight.": "{name} کھلا بکتا ہے: اس پر ٹیپ کر کے وزن لکھیں۔",
  "Type an amount (50) or a percent (10%).": "رقم (50) یا فیصد (10%) لکھیں۔",
  "You may not give discounts: your limit is none. Ask the owner.": "آپ رعایت نہیں دے سکتے: آپ کی کوئی حد نہیں۔ مالک سے پوچھیں۔",
  "That is more than your discount limit of {percent} of the price.": "یہ آپ کی رعایت کی حد (قیمت کا {percent}) سے زیادہ ہے۔",
  "Sale parked. Recall it from Parked sales.": "فروخت روک لی گئی۔ روکی گئی فروخت سے واپس لائیں۔",
  "The discounts are more than your limit of {percent}. Change them first.": "رعایت آپ کی حد {percent} سے زیادہ ہے۔ پہلے اسے بدلیں۔",
  // Payment.
  "Payments": "ادائیگیاں",
  "Tender": "ادائیگی کا طریقہ",
  "Cash": "نقد",
  "Card": "کارڈ",
  "Wallet": "والیٹ",
  "Wallet service": "والیٹ سروس",
  "JazzCash": "جاز کیش",
  "Easypaisa": "ایزی پیسہ",
  "Raast": "راست",
  "Bank transfer": "بینک ٹرانسفر",
  "Exact": "پوری رقم",
  "Amount received": "وصول شدہ رقم",
  "Amount": "رقم",
  "Reference": "حوالہ نمبر",
  "Split": "تقسیم",
  "Complete sale": "فروخت مکمل کریں",
  "Total {amount}": "کل {amount}",
  "Discount {amount} included": "رعایت {amount} شامل",
  "unverified": "غیر تصدیق شدہ",
  "Take off {what}": "ہٹائیں {what}",
  "Left to pay {amount}": "باقی ادائیگی {amount}",
  "The approval code on the card terminal's slip.": "کارڈ مشین کی پرچی پر منظوری کا کوڈ۔",
  "The transaction id in the customer's wallet message.": "گاہک کے والیٹ میسج میں ٹرانزیکشن آئی ڈی۔",
  "Check the customer's wallet message: the shop is offline": "گاہک کا والیٹ میسج دیکھ لیں: دکان آف لائن ہے",
  "Change {amount}": "بقایا {amount}",
  "Not enough received": "رقم کم ہے",
  "A card or wallet pays at most what is left: {amount}": "کارڈ یا والیٹ سے زیادہ سے زیادہ باقی رقم: {amount}",
  "{tender} payment of {amount}": "{tender} سے ادائیگی {amount}",
  "Back to cart": "ٹوکری پر واپس",
  "Type the amount this tender pays, then Split.": "اس طریقے سے ادا ہونے والی رقم لکھیں، پھر تقسیم دبائیں۔",
  "That pays all that is left: Complete sale.": "اس سے ساری باقی رقم ادا ہو جاتی ہے: فروخت مکمل کریں۔",
  "The sale is not paid in full yet.": "ابھی پوری ادائیگی نہیں ہوئی۔",
  "The sale was NOT saved. {why}": "فروخت محفوظ نہیں ہوئی۔ {why}",
  "POS service fee {amount} included": "POS سروس فیس {amount} شامل",
  "GST {amount} at {percent} for this tender": "اس طریقۂ ادائیگی پر جی ایس ٹی {amount} ({percent})",
  // The receipt.
  "Sale complete": "فروخت مکمل",
  "Receipt": "رسید",
  "New sale": "نئی فروخت",
  "Print": "پرنٹ",
  "DUPLICATE": "نقل",
  "RETURN": "واپسی",
  "KHATA PAYMENT": "کھاتے کی ادائیگی",
  "Note": "نوٹ",
  "Phone": "فون",
  "NTN": "این ٹی این",
  "STRN": "ایس ٹی آر این",
  "Original receipt": "اصل رسید",
  "Date": "تاریخ",
  "Cart discount {p}%": "ٹوکری پر رعایت {p}%",
  "Cart discount": "ٹوکری پر رعایت",
  "Discounts": "رعایتیں",
  "Subtotal": "ذیلی کل",
  "You saved {amount}": "آپ کی بچت {amount}",
  "Total refunded": "کل واپس",
  "Total": "کل",
  "GST included": "جی ایس ٹی شامل",
  // FBR / PRA (issue 9): the POS service fee and the invoice's block; {authority} is FBR or PRA.
  "POS service fee": "POS سروس فیس",
  "{authority} invoice": "{authority} انوائس نمبر",
  "{authority}: pending": "{authority}: رپورٹ ہونا باقی",
  "{authority}: fiscalized": "{authority}: رپورٹ ہو گئی",
  "{authority}: failed": "{authority}: رپورٹ ناکام",
  "QR code of {authority} invoice {number}": "{authority} انوائس {number} کا QR کوڈ",
  "POS registration": "POS رجسٹریشن",
  "Ref": "حوالہ",
  "Change": "بقایا",
  "Reason": "وجہ",
  "g": "گرام", "kg": "کلو", "ml": "ملی لیٹر", "l": "لیٹر",
  // Sales list and returns.
  "Sales": "فروخت",
  "Today's sales": "آج کی فروخت",
  "Receipt number": "رسید نمبر",
  "Return of {n}": "{n} کی واپسی",
  "Sale": "فروخت",
  "Reprint": "دوبارہ پرنٹ",
  "Return": "واپسی",
  "No receipt matches.": "کوئی رسید نہیں ملی۔",
  "No sales yet today.": "آج ابھی کوئی فروخت نہیں۔",
  "{n} is not among this tablet's sales today. Press Enter to look it up for a return.":
    "{n} اس ٹیبلٹ کی آج کی فروخت میں نہیں۔ واپسی کے لیے ڈھونڈنے کو Enter دبائیں۔",
  "Back to selling": "فروخت پر واپس",
  "Back to sales": "فروخت کی فہرست پر واپس",
  "Return complete": "واپسی مکمل",
  "pending": "باقی", "at box": "باکس میں", "in cloud": "کلاؤڈ میں", "refused": "مسترد",
  "Type or scan a receipt number like T1-000042.": "رسید نمبر لکھیں یا اسکین کریں، جیسے T1-000042۔",
  "The shop box cannot be reached: this return is checked against this tablet's own records only.":
    "دکان کے باکس سے رابطہ نہیں: یہ واپسی صرف اس ٹیبلٹ کے اپنے ریکارڈ سے جانچی گئی ہے۔",
  "No sale with receipt number {n} is known.": "رسید نمبر {n} کی کوئی فروخت نہیں ملی۔",
  "{n} is a return, not a sale.": "{n} واپسی ہے، فروخت نہیں۔",
  "{n} is a shift's opening, not a sale.": "{n} شفٹ کا آغاز ہے، فروخت نہیں۔",
  "{n} is a Z-report (a shift's close), not a sale.": "{n} زیڈ رپورٹ (شفٹ کا اختتام) ہے، فروخت نہیں۔",
  "{n} is cash paid in or out, not a sale.": "{n} نقدی جمع یا نکالی ہے، فروخت نہیں۔",
  "{n} is a drawer opening, not a sale.": "{n} دراز کھولنا ہے، فروخت نہیں۔",
  "{n} is a khata payment, not a sale.": "{n} کھاتے کی ادائیگی ہے، فروخت نہیں۔",
  "{n} is a khata adjustment, not a sale.": "{n} کھاتے کی درستی ہے، فروخت نہیں۔",
  "{n} is a customer's details, not a sale.": "{n} گاہک کی تفصیل ہے، فروخت نہیں۔",
  "{n} is not a sale.": "{n} فروخت نہیں۔",
  "Receipt {n} is not from this tablet. A return of another tablet's sale needs the shop box, which cannot be reached now.":
    "رسید {n} اس ٹیبلٹ کی نہیں۔ دوسرے ٹیبلٹ کی فروخت کی واپسی کے لیے دکان کا باکس چاہیے، جس سے ابھی رابطہ نہیں۔",
  "Your cashier account may not take returns. Ask the owner.": "آپ کا کیشیئر اکاؤنٹ واپسی نہیں لے سکتا۔ مالک سے پوچھیں۔",
  "Looking up the sale…": "فروخت ڈھونڈی جا رہی ہے…",
  "This tablet could not look up that sale. Try again.": "یہ ٹیبلٹ وہ فروخت نہیں ڈھونڈ سکا۔ دوبارہ کوشش کریں۔",
  "The return was NOT saved: more than was sold, or nothing chosen. Check the quantities.":
    "واپسی محفوظ نہیں ہوئی: بیچے گئے سے زیادہ، یا کچھ نہیں چنا۔ تعداد دیکھیں۔",
  "sold": "بیچا", "for": "برائے",
  "Return all": "سب واپس",
  "Complete return": "واپسی مکمل کریں",
  "already returned": "پہلے واپس ہو چکا",
  "Pay back {amount}": "واپس ادا کریں {amount}",
  "Off the khata {amount}": "کھاتے سے کم {amount}",
  "At most {n} of {name} can be returned.": "{name} میں سے زیادہ سے زیادہ {n} واپس ہو سکتا ہے۔",
  "Return from receipt {n}": "رسید {n} سے واپسی",
  "Lines": "اشیاء",
  "Pay back in": "واپسی کس طرح",
  "Reason (optional)": "وجہ (اختیاری)",
  // Shifts and the Z-report.
  "Open shift": "شفٹ شروع کریں",
  "Close shift": "شفٹ بند کریں",
  "Paid in": "نقدی جمع",
  "Paid out": "نقدی نکالی",
  "Type the cash counted in the drawer, e.g. 5000.": "دراز میں گنی ہوئی نقدی لکھیں، جیسے 5000۔",
  "A shift is already open on this tablet.": "اس ٹیبلٹ پر پہلے سے ایک شفٹ کھلی ہے۔",
  "The shift was NOT opened: this tablet could not save it.": "شفٹ شروع نہیں ہوئی: یہ ٹیبلٹ اسے محفوظ نہیں کر سکا۔",
  "Type the amount, e.g. 500.": "رقم لکھیں، جیسے 500۔",
  "Say why the cash moved.": "بتائیں نقدی کیوں جمع یا نکالی گئی۔",
  "This was NOT saved: this tablet could not store it.": "یہ محفوظ نہیں ہوا: یہ ٹیبلٹ اسے رکھ نہیں سکا۔",
  "Type the cash counted in the drawer, and the card and wallet totals.": "دراز میں گنی ہوئی نقدی، اور کارڈ اور والیٹ کا کل لکھیں۔",
  "Close shift anyway": "پھر بھی شفٹ بند کریں",
  "The shift was NOT closed: this tablet could not save it.": "شفٹ بند نہیں ہوئی: یہ ٹیبلٹ اسے محفوظ نہیں کر سکا۔",
  "Open a shift": "شفٹ شروع کریں",
  "Count the cash in the drawer (the float) and type it.": "دراز کی نقدی (ابتدائی رقم) گن کر لکھیں۔",
  "Counted cash": "گنی ہوئی نقدی",
  "This till: {a}": "یہ ٹِل: {a}",
  "Close the shift": "شفٹ بند کریں",
  "Count the cash in the drawer and type it. Check the card and wallet totals.": "دراز کی نقدی گن کر لکھیں۔ کارڈ اور والیٹ کا کل جانچ لیں۔",
  "Card total": "کارڈ کا کل",
  "Wallet total": "والیٹ کا کل",
  "Z-report": "زیڈ رپورٹ",
  "Z-REPORT": "زیڈ رپورٹ",
  "Till": "ٹِل",
  "Sales total": "کل فروخت",
  "Returns": "واپسیاں",
  "Returns total": "کل واپسی",
  "GST": "جی ایس ٹی",
  "By tender": "ادائیگی کے طریقے سے",
  "By cashier": "کیشیئر کے حساب سے",
  "sale": "فروخت",
  "sales": "فروخت",
  "return": "واپسی",
  "returns": "واپسیاں",
  "Opening float": "ابتدائی نقدی",
  "Expected cash": "متوقع نقدی",
  "Over": "زیادہ",
  "Short": "کم",
  "Cash matches": "نقدی پوری ہے",
  ", ": "، ",   // a list's comma: Urdu's own (U+060C)
  "Confirmed: card {c}, wallet {w}": "تصدیق شدہ: کارڈ {c}، والیٹ {w}",
  "Shift closed": "شفٹ بند ہو گئی",
  "No shift is open: this sale will be in no shift's Z-report. Open a shift first to count it in one.":
    "کوئی شفٹ کھلی نہیں: یہ فروخت کسی شفٹ کی زیڈ رپورٹ میں نہیں آئے گی۔ اسے گننے کے لیے پہلے شفٹ شروع کریں۔",
  "Done": "ٹھیک ہے",
  // Before leaving with documents not yet at the box.
  "1 sale or record is not yet at the shop box. It is safe on this tablet and is sent when the box can be reached.":
    "1 فروخت یا ریکارڈ ابھی دکان کے باکس تک نہیں پہنچا۔ یہ اس ٹیبلٹ پر محفوظ ہے اور باکس ملتے ہی بھیج دیا جائے گا۔",
  "{n} sales and records are not yet at the shop box. They are safe on this tablet and are sent when the box can be reached.":
    "{n} فروخت اور ریکارڈ ابھی دکان کے باکس تک نہیں پہنچے۔ یہ اس ٹیبلٹ پر محفوظ ہیں اور باکس ملتے ہی بھیج دیے جائیں گے۔",
  "Not yet at the shop box": "ابھی دکان کے باکس تک نہیں پہنچا",
  "1 more is at the shop box and goes on to the cloud from there.": "مزید 1 دکان کے باکس پر ہے اور وہاں سے کلاؤڈ کو جائے گا۔",
  "{n} more are at the shop box and go on to the cloud from there.": "مزید {n} دکان کے باکس پر ہیں اور وہاں سے کلاؤڈ کو جائیں گے۔",
  "Everything is at the shop box.": "سب کچھ دکان کے باکس تک پہنچ گیا۔",
  "Everything is at the shop box; 1 goes on to the cloud from there.": "سب کچھ دکان کے باکس تک پہنچ گیا؛ 1 وہاں سے کلاؤڈ کو جائے گا۔",
  "Everything is at the shop box; {n} go on to the cloud from there.": "سب کچھ دکان کے باکس تک پہنچ گیا؛ {n} وہاں سے کلاؤڈ کو جائیں گے۔",
  "Sending… {n} left": "بھیجا جا رہا ہے… {n} باقی",
  "{n} still waiting. The shop box may be out of reach; you can go on anyway.": "{n} ابھی باقی۔ شاید دکان کا باکس پہنچ سے باہر ہے؛ آپ پھر بھی آگے بڑھ سکتے ہیں۔",
  // Printing through the shop box, and the drawer (printing.js, shift.js).
  "Printing…": "پرنٹ ہو رہا ہے…",
  "Printed": "پرنٹ ہو گیا",
  "Printer has no paper: load paper to print": "پرنٹر میں کاغذ نہیں: پرنٹ کے لیے کاغذ ڈالیں",
  "Printer is off: turn it on to print": "پرنٹر بند ہے: پرنٹ کے لیے اسے چلائیں",
  "Not printed by the shop box: use Print.": "دکان کے باکس سے پرنٹ نہیں ہوا: پرنٹ دبائیں۔",
  "Not printed in time: use Print.": "وقت پر پرنٹ نہیں ہوا: پرنٹ دبائیں۔",
  "Printing failed on the shop box: use Print.": "دکان کے باکس پر پرنٹ ناکام: پرنٹ دبائیں۔",
  "Open drawer": "دراز کھولیں",
  "Change for a customer": "گاہک کے لیے ریزگاری",
  "Check the float": "ابتدائی رقم جانچیں",
  "Correct a customer's change": "گاہک کا بقایا درست کریں",
  "Say why the drawer is opened.": "بتائیں کہ دراز کیوں کھولی جا رہی ہے۔",
  "Opening the drawer…": "دراز کھل رہی ہے…",
  "Drawer opened": "دراز کھل گئی",
  "Paid in {amount}: recorded.": "{amount} دراز میں ڈالے: درج ہو گیا۔",
  "Paid out {amount}: recorded.": "{amount} دراز سے نکالے: درج ہو گیا۔",
  "The drawer could not be opened (printer off): open it with its key.": "دراز نہیں کھلی (پرنٹر بند ہے): چابی سے کھولیں۔",
  "Recorded. This tablet has no printer on the shop box to open the drawer: open it with its key.":
    "درج ہو گیا۔ دکان کے باکس پر اس ٹیبلٹ کا کوئی پرنٹر نہیں جو دراز کھولے: چابی سے کھولیں۔",
  "Recorded, but the drawer could not be opened from here: the shop box or its printer is out of reach. Open it with its key.":
    "درج ہو گیا، لیکن دراز یہاں سے نہیں کھلی: دکان کا باکس یا اس کا پرنٹر پہنچ سے باہر ہے۔ چابی سے کھولیں۔",
  // Customers and khata (issue 10).
  "On account": "ادھار کھاتے میں",
  "A sale goes on account once: change the amount on account instead.": "ایک فروخت ایک ہی بار ادھار میں جاتی ہے: ادھار کی رقم بدلیں۔",
  "Choose the customer this sale goes on account to.": "وہ گاہک چنیں جس کے کھاتے میں یہ فروخت ادھار جائے گی۔",
  "Checking {name}'s khata…": "{name} کا کھاتہ دیکھا جا رہا ہے…",
  "{name} owes {balance}; this sale puts {amount} more on account, past their credit limit of {limit}. The owner approves with their PIN.":
    "{name} کے ذمے {balance} ہیں؛ یہ فروخت {amount} مزید ادھار کرتی ہے، جو ان کی ادھار کی حد {limit} سے زیادہ ہے۔ مالک اپنے پن سے منظوری دے۔",
  "Not approved: the sale is not complete.": "منظوری نہیں ملی: فروخت مکمل نہیں ہوئی۔",
  "Type the customer's name.": "گاہک کا نام لکھیں۔",
  "Type the phone like 0300 1234567.": "فون نمبر اس طرح لکھیں: 0300 1234567۔",
  "A CNIC has 13 digits, like 35202-1234567-1.": "شناختی کارڈ نمبر ۱۳ ہندسوں کا ہے، جیسے 35202-1234567-1۔",
  "Received {amount} from {name}.": "{name} سے {amount} وصول ہوئے۔",
  "Say why the balance changes.": "بتائیں کہ کھاتے کا بیلنس کیوں بدل رہا ہے۔",
  "Balance adjusted.": "کھاتے کا بیلنس درست کر دیا گیا۔",
  "Selling to {name}: choose On account when paying.": "{name} کو فروخت: ادائیگی پر ادھار کھاتے میں چنیں۔",
  "{amount} in advance": "{amount} پیشگی",
  "Search customers": "گاہک تلاش کریں",
  "Name or phone": "نام یا فون",
  "Customers": "گاہک",
  "No customer matches.": "کوئی گاہک نہیں ملا۔",
  "No customers yet.": "ابھی کوئی گاہک نہیں۔",
  "Choose the customer": "گاہک چنیں",
  "New customer": "نیا گاہک",
  "Back to payment": "ادائیگی پر واپس",
  "Save customer": "گاہک محفوظ کریں",
  "Name": "نام",
  "CNIC (optional)": "شناختی کارڈ نمبر (اختیاری)",
  "Credit limit {amount}: the owner can change it in the back office.": "ادھار کی حد {amount}: مالک اسے بیک آفس میں بدل سکتا ہے۔",
  "Back to customers": "گاہکوں پر واپس",
  "Sale on account": "ادھار فروخت",
  "Return on account": "ادھار کی واپسی",
  "Payment received": "رقم وصول",
  "Adjustment": "درستی",
  "Balance": "کھاتے کا بیلنس",
  "Khata entries": "کھاتے کے اندراج",
  "Credit limit {amount}": "ادھار کی حد {amount}",
  "No entries yet.": "ابھی کوئی اندراج نہیں۔",
  "Receive payment": "رقم وصول کریں",
  "Adjust balance": "بیلنس درست کریں",
  "Sell on account": "ادھار پر بیچیں",
  "Last entries": "آخری اندراج",
  "Back to khata": "کھاتے پر واپس",
  "Payment from {name}": "{name} سے وصولی",
  "Balance {amount}": "کھاتے کا بیلنس {amount}",
  "Received in": "وصولی کس طرح",
  "Type what the customer hands over: no change is given; more than the balance is an advance.":
    "جتنی رقم گاہک دے وہ لکھیں: بقایا واپس نہیں دیا جاتا؛ کھاتے کے بیلنس سے زیادہ رقم پیشگی جمع ہوتی ہے۔",
  "Note (optional)": "نوٹ (اختیاری)",
  "Owes more": "زیادہ واجب",
  "Owes less": "کم واجب",
  "Adjust {name}'s balance": "{name} کا بیلنس درست کریں",
  "Owner PIN": "مالک کا پن",
  "Only the owner adjusts a balance: their PIN is checked by the shop box.": "کھاتے کا بیلنس صرف مالک درست کرتا ہے: اس کا پن دکان کا باکس جانچتا ہے۔",
  "Balance as of {when} from the shop box, with this tablet's own entries since.":
    "کھاتوں کا بیلنس دکان کے باکس سے {when} تک کا، اس کے بعد اس ٹیبلٹ کے اپنے اندراج شامل۔",
  "This tablet has not had balances from the shop box yet: only its own entries are counted.":
    "اس ٹیبلٹ کو ابھی دکان کے باکس سے کھاتوں کا بیلنس نہیں ملا: صرف اس کے اپنے اندراج گنے گئے ہیں۔",
  "This tablet does not know that customer. Choose them again from Customers.": "یہ ٹیبلٹ اس گاہک کو نہیں جانتا۔ گاہکوں سے دوبارہ چنیں۔",
  "This takes {name} past their credit limit of {limit} (balance {balance}). The owner's approval needs the shop box, which cannot be reached. {asOf}":
    "اس سے {name} اپنی ادھار کی حد {limit} سے آگے چلے جائیں گے (بیلنس {balance})۔ مالک کی منظوری کے لیے دکان کا باکس چاہیے، جس سے رابطہ نہیں۔ {asOf}",
  "Cut off from the shop box, this tablet may put at most {allowance} on one customer's khata; {name} already has {own} from this tablet.":
    "دکان کے باکس سے رابطہ نہ ہو تو یہ ٹیبلٹ ایک گاہک کے کھاتے میں زیادہ سے زیادہ {allowance} ادھار لکھ سکتا ہے؛ {name} کے ذمے اس ٹیبلٹ سے پہلے ہی {own} ہیں۔",
  "The owner's approval needs the shop box, which cannot be reached.": "مالک کی منظوری کے لیے دکان کا باکس چاہیے، جس سے رابطہ نہیں۔",
  "That is not the owner's PIN.": "یہ مالک کا پن نہیں۔",
  "The shop box has no owner PIN yet. The installer sets one with posline-gateway admin-pin.":
    "دکان کے باکس میں ابھی مالک کا پن نہیں۔ انسٹالر اسے posline-gateway admin-pin سے رکھتا ہے۔",
  "Approve": "منظور کریں",
  "Owner approval": "مالک کی منظوری",
  "Customer: {name}": "گاہک: {name}",
  "No customer chosen": "کوئی گاہک نہیں چنا",
  "Change customer": "گاہک بدلیں",
  "Choose customer": "گاہک چنیں",
  "Customer": "گاہک",
  "Balance after": "اس کے بعد کھاتے کا بیلنس",
  "Remove customer": "گاہک ہٹائیں",
  "Khata payments received": "کھاتے کی وصولیاں",
  // Khata, approval protocol version 2 (the fix wave): the box's answers, returns' caps, the close note.
  "The shop box did not answer in time. Try again; if it keeps happening, tell the owner.":
    "دکان کے باکس نے وقت پر جواب نہیں دیا۔ دوبارہ کوشش کریں؛ بار بار ایسا ہو تو مالک کو بتائیں۔",
  "The owner's approval is needed.": "مالک کی منظوری ضروری ہے۔",
  "The shop box had a problem and could not check the khata.": "دکان کے باکس میں خرابی ہے، کھاتہ جانچا نہیں جا سکا۔",
  "The shop box refused this khata request.": "دکان کے باکس نے کھاتے کی یہ درخواست نہیں مانی۔",
  "Type the owner's PIN.": "مالک کا پن لکھیں۔",
  "At most {amount} can go back on account: the sale put {sold} on account and {back} of it is already paid back on account.":
    "زیادہ سے زیادہ {amount} کھاتے میں واپس جا سکتے ہیں: اس فروخت میں {sold} کھاتے میں لکھے گئے اور ان میں سے {back} پہلے ہی کھاتے میں واپس ہو چکے ہیں۔",
  "At most {amount} can be paid back in money: the customer paid {paid} in money for this sale and {back} is already paid back in money. Pay the rest back on account.":
    "زیادہ سے زیادہ {amount} رقم میں واپس دیے جا سکتے ہیں: گاہک نے اس فروخت کے لیے {paid} رقم میں دیے اور {back} پہلے ہی رقم میں واپس ہو چکے ہیں۔ باقی کھاتے میں واپس کریں۔",
  "These card and wallet totals include khata payments received: card {card}, wallet {wallet}.":
    "کارڈ اور والیٹ کے ان میزانوں میں کھاتے کی وصولیاں شامل ہیں: کارڈ {card}، والیٹ {wallet}۔",
  // Fix wave 2 (a new user's findings): overpaid khata payments, a phone already known, past the limit,
  // the pay screen's khata line, a receipt made cut off from the box, the Sales list.
  "More than the balance": "کھاتے کے بیلنس سے زیادہ",
  "{name} owes {owed}.": "{name} کے ذمے {owed} ہیں۔",
  "{name} owes nothing.": "{name} کے ذمے کچھ نہیں۔",
  "Take {amount}? {advance} will be held as an advance.": "{amount} وصول کریں؟ {advance} پیشگی جمع رہیں گے۔",
  "Confirm": "تصدیق کریں",
  "Change amount": "رقم بدلیں",
  "This phone number is known": "یہ فون نمبر پہلے سے موجود ہے",
  "{name} already has this phone number.": "یہ فون نمبر پہلے ہی {name} کا ہے۔",
  "Open {name}": "{name} کو کھولیں",
  "Save anyway": "پھر بھی محفوظ کریں",
  "Change the phone": "فون نمبر بدلیں",
  "Phone (optional)": "فون (اختیاری)",
  "A phone number helps find the customer later.": "فون نمبر سے بعد میں گاہک آسانی سے مل جاتا ہے۔",
  "Past the limit by {amount}": "ادھار کی حد سے {amount} زیادہ",
  "{amount} on {name}'s khata": "{name} کے کھاتے میں {amount}",
  "{amount} on a customer's khata: choose the customer": "{amount} گاہک کے کھاتے میں: گاہک چنیں",
  "Owes {balance} now; {left} left of their credit limit of {limit}.":
    "ابھی ذمے {balance}؛ ادھار کی حد {limit} میں سے {left} باقی۔",
  "Owes {balance} now; already past their credit limit of {limit}.":
    "ابھی ذمے {balance}؛ ادھار کی حد {limit} سے پہلے ہی زیادہ۔",
  "Balance after, as known to this tablet": "اس کے بعد کھاتے کا بیلنس، جتنا اس ٹیبلٹ کو معلوم ہے",
  "Clear the one line from the cart?": "ٹوکری سے یہ ایک چیز ہٹا دیں؟",
};

let language = "en";

export function currentLanguage() { return language; }

/** The language the switch button offers: Urdu on an English till, English on an Urdu one. */
export function otherLanguage() { return language === "ur" ? "en" : "ur"; }

/** Switch the page's language and direction; screens redraw from the store after this. */
export function setLanguage(code) {
  language = LANGUAGES[code] ? code : "en";
  document.documentElement.lang = language;
  document.documentElement.dir = LANGUAGES[language].dir;
}

// In Urdu, a value with Latin letters or digits ("Rs 1,234", "−Rs 50", "T1-000042") is set apart
// (a Unicode left-to-right isolate) so it reads left to right, whole, inside the right-to-left sentence.
const LATIN = /[A-Za-z0-9]/;

/**
 * Words shown in `from` said again in the language now set: the same sentence when it is one of the
 * till's own (without figures put in), else "" (the caller clears it rather than leave the other language).
 */
export function retranslate(text, from) {
  if (from === "ur") {
    const key = Object.keys(URDU).find((english) => URDU[english] === text);
    return key ? t(key) : "";
  }
  return Object.prototype.hasOwnProperty.call(URDU, text) ? t(text) : "";
}

export function t(english, params) {
  const urdu = language === "ur" && URDU[english];
  const text = urdu || english;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (_, key) => {
    const value = String(params[key] ?? "");
    return urdu && LATIN.test(value) ? `\u2066${value}\u2069` : value;
  });
}

