"""Urdu for the back office's stock and devices pages (see words.py)."""
URDU: dict[str, str] = {
    # Stock (office/stock.py, stock.html, stock_item.html)
    "This form is out of date: open the page again.": "یہ فارم پرانا ہو گیا ہے: صفحہ دوبارہ کھولیں۔",
    "Enter a number of pieces.": "تعداد (عدد) لکھیں۔",
    "Enter kg or litres, up to 3 decimals.": "کلو یا لیٹر لکھیں، اعشاریہ کے بعد زیادہ سے زیادہ ۳ ہندسے۔",
    "Goods received must be more than zero.": "وصول شدہ مال صفر سے زیادہ ہونا چاہیے۔",
    "An adjustment needs a quantity other than zero and a reason (up to 64 characters).":
        "ردوبدل کے لیے صفر کے علاوہ مقدار اور وجہ (۶۴ حروف تک) ضروری ہے۔",
    "Low stock": "کم اسٹاک",
    "Product": "چیز",
    "On hand": "موجود",
    "Low at": "کم کی حد",
    "Nothing is low.": "کوئی چیز کم نہیں۔",
    "Search products": "اشیاء تلاش کریں",
    "Search": "تلاش",
    "Open a product to record goods received, an adjustment or a stock count.":
        "وصول شدہ مال، ردوبدل یا اسٹاک گنتی درج کرنے کے لیے چیز کھولیں۔",
    "SKU": "ایس کے یو",
    "archived": "محفوظ شدہ",
    "No products.": "کوئی چیز نہیں۔",
    "Sale": "فروخت",
    "Return": "واپسی",
    "Goods received": "وصول شدہ مال",
    "Stock count": "اسٹاک گنتی",
    "All stock": "تمام اسٹاک",
    "Goods received recorded.": "وصول شدہ مال درج ہو گیا۔",
    "Adjustment recorded.": "ردوبدل درج ہو گیا۔",
    "Stock count recorded: on hand is now the counted quantity.":
        "اسٹاک گنتی درج ہو گئی: اب موجود مقدار وہی ہے جو گنی گئی۔",
    "This form was already sent; it was counted once.": "یہ فارم پہلے ہی بھیجا جا چکا تھا؛ یہ ایک ہی بار گنا گیا۔",
    "pieces": "عدد",
    "kg": "کلو",
    "litres": "لیٹر",
    "Quantity received": "وصول شدہ مقدار",
    "Record goods received": "وصول شدہ مال درج کریں",
    "Adjustment": "ردوبدل",
    "Change (+ or -)": "تبدیلی (+ یا -)",
    "Reason": "وجہ",
    "damaged": "خراب",
    "expired": "میعاد ختم",
    "lost": "گم",
    "Record adjustment": "ردوبدل درج کریں",
    "Counted quantity": "گنی گئی مقدار",
    "On hand becomes what you counted; the difference is recorded as a count.":
        "موجود مقدار وہی ہو جائے گی جو آپ نے گنی؛ فرق گنتی کے طور پر درج ہو گا۔",
    "Record stock count": "اسٹاک گنتی درج کریں",
    "Recent movements": "حالیہ آمد و رفت",
    "When": "کب",
    "Quantity": "مقدار",
    "No movements yet.": "ابھی کوئی آمد و رفت نہیں۔",
    "{n} sales and records are still on their way from the shop; a count now will be off by what they sold. "
    "Count when Devices shows everything up to date.":
        "{n} فروخت اور ریکارڈ ابھی دکان سے آ رہے ہیں؛ ابھی کی گئی گنتی اتنی غلط ہو گی جتنا انہوں نے بیچا۔ "
        "گنتی تب کریں جب آلات کے صفحے پر سب کچھ تازہ ترین ہو۔",
    "Record the count anyway, knowing it will be off": "یہ جانتے ہوئے کہ گنتی غلط ہو گی، پھر بھی درج کریں",
    "Not recorded: sales are still on their way from the shop. Tick the box to record the count anyway.":
        "درج نہیں ہوئی: فروخت ابھی دکان سے آ رہی ہے۔ پھر بھی گنتی درج کرنے کے لیے خانے پر نشان لگائیں۔",

    # Devices and sync health (office/devices.py, devices.html)
    "{n} s": "{n} سیکنڈ",
    "{n} min": "{n} منٹ",
    "{n} h": "{n} گھنٹے",
    "{n} days": "{n} دن",
    "{age} ago": "{age} پہلے",
    "never": "کبھی نہیں",
    "clock {age} behind": "گھڑی {age} پیچھے",
    "clock {age} ahead": "گھڑی {age} آگے",
    "Devices and sync health": "آلات اور ہم آہنگی کی صحت",
    "The box was revoked: the cloud refuses its key from now on.":
        "باکس منسوخ کر دیا گیا: اب کلاؤڈ اس کی چابی قبول نہیں کرے گا۔",
    "The tablet was revoked: its box unpairs it at its next catalog update.":
        "ٹیبلٹ منسوخ کر دیا گیا: اس کا باکس اگلی کیٹلاگ تازہ کاری پر اسے الگ کر دے گا۔",
    "The tablet may be paired again with a new code from its box.":
        "اس ٹیبلٹ کو اس کے باکس کے نئے کوڈ سے دوبارہ جوڑا جا سکتا ہے۔",
    "Nothing changed: it already was so.": "کچھ نہیں بدلا: پہلے سے ایسا ہی تھا۔",
    "Shop boxes": "دکان کے باکس",
    "No box is enrolled yet.": "ابھی کوئی باکس درج نہیں۔",
    "Box {name}": "باکس {name}",
    "revoked {at}": "منسوخ {at}",
    "up to date": "تازہ ترین",
    "not heard from lately": "کافی دیر سے رابطہ نہیں",
    "Last heard": "آخری رابطہ",
    "Waiting to send": "بھیجنے کے منتظر",
    "unknown": "معلوم نہیں",
    "Oldest unsent": "سب سے پرانا نہ بھیجا گیا",
    "Parked documents": "روکی گئی دستاویزات",
    "Version": "ورژن",
    "Revoke this box": "یہ باکس منسوخ کریں",
    "Do this for a lost or stolen box. Its key stops working at once; sales it has not sent stay on it. "
    "A replacement box enrols with a new token.":
        "گم یا چوری شدہ باکس کے لیے یہ کریں۔ اس کی چابی فوراً بند ہو جائے گی؛ جو فروخت اس نے نہیں بھیجی وہ اسی پر رہے گی۔ "
        "نیا باکس نئے ٹوکن سے درج ہوتا ہے۔",
    "Revoke box {name}": "باکس {name} منسوخ کریں",
    "Enrol a new box": "نیا باکس درج کریں",
    "A one-time enrolment token for {shop}. It is shown only this once: copy it now. It enrols one box, "
    "then stops working.":
        "{shop} کے لیے ایک بار استعمال ہونے والا اندراج ٹوکن۔ یہ صرف اسی ایک بار دکھایا جائے گا: ابھی نقل کر لیں۔ "
        "یہ ایک باکس درج کرتا ہے، پھر کام نہیں کرتا۔",
    "On the new box, as root, type:": "نئے باکس پر، روٹ کے طور پر، یہ لکھیں:",
    "Anyone holding this token can add a box to your shop until it is used: give it only to your installer.":
        "جب تک یہ ٹوکن استعمال نہ ہو، جس کے پاس بھی ہو وہ آپ کی دکان میں باکس شامل کر سکتا ہے: یہ صرف اپنے انسٹالر کو دیں۔",
    "For a replacement box, or another box for this shop. Revoke a lost or stolen box first.":
        "متبادل باکس کے لیے، یا اس دکان کے ایک اور باکس کے لیے۔ گم یا چوری شدہ باکس پہلے منسوخ کریں۔",
    "Name of the new box": "نئے باکس کا نام",
    "Get an enrolment token": "اندراج ٹوکن حاصل کریں",
    "Tablets": "ٹیبلٹ",
    "Tablet": "ٹیبلٹ",
    "Receipts": "رسیدیں",
    "Missing receipts": "غائب رسیدیں",
    "Clock": "گھڑی",
    "{first} missing": "{first} غائب",
    "{first} … {last} missing": "{first} … {last} غائب",
    "none": "کوئی نہیں",
    "right": "درست",
    "Allow {code} again": "{code} کو دوبارہ اجازت دیں",
    "Revoke": "منسوخ کریں",
    "Its box stops taking its sales at its next catalog update (a minute or so). "
    "Pair it again with a new code to bring it back.":
        "اس کا باکس اگلی کیٹلاگ تازہ کاری (تقریباً ایک منٹ) پر اس کی فروخت لینا بند کر دے گا۔ "
        "واپس لانے کے لیے نئے کوڈ سے دوبارہ جوڑیں۔",
    "Revoke {code}": "{code} منسوخ کریں",
    "No tablet has sent a document yet.": "ابھی کسی ٹیبلٹ نے کوئی دستاویز نہیں بھیجی۔",
    "Documents in conflict": "متضاد دستاویزات",
    "The same document arrived twice with different contents. The first version counts; the other is kept here.":
        "ایک ہی دستاویز دو بار مختلف مواد کے ساتھ آئی۔ پہلا نسخہ شمار ہوتا ہے؛ دوسرا یہاں رکھا گیا ہے۔",
    "Differs in: {fields}": "فرق: {fields}",
    "Stored version (counts)": "محفوظ نسخہ (شمار ہوتا ہے)",
    "Incoming version (kept aside)": "آنے والا نسخہ (الگ رکھا گیا)",
    "None.": "کوئی نہیں۔",
    "Documents refused": "مسترد دستاویزات",
    "These failed the cloud's checks and count nowhere; they are kept for inspection.":
        "یہ کلاؤڈ کی جانچ میں ناکام رہیں اور کہیں شمار نہیں ہوتیں؛ جانچ کے لیے رکھی گئی ہیں۔",
    "(no id)": "(شناخت نہیں)",
    "Document as received": "دستاویز جیسے موصول ہوئی",
}
