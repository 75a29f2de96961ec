"""Urdu for the back office's customers and khata pages (office/customers.py, customers.html, customer.html,
customer_new.html, _customer_fields.html) and the khata's settings and report (see words.py)."""
URDU: dict[str, str] = {
    # The menu and the list
    "Customers": "گاہک",
    "Customer": "گاہک",
    "New customer": "نیا گاہک",
    "All customers": "تمام گاہک",
    "Name or phone": "نام یا فون",
    "Order": "ترتیب",
    "Most owed first": "سب سے زیادہ ادھار پہلے",
    "By name": "نام کے لحاظ سے",
    "Who owes what, and for how long": "کس کے ذمے کتنا ہے، اور کب سے",
    "Payments clear the oldest credit first, so what is still owed is the newest. Days are counted from the sale.":
        "ادائیگی سب سے پرانے ادھار میں پہلے لگتی ہے، اس لیے جو باقی ہے وہ نیا ہے۔ دن فروخت سے گنے جاتے ہیں۔",
    "Balance": "بقایا",
    "{days} days": "{days} دن",
    "Credit limit": "ادھار کی حد",
    "Last entry": "آخری اندراج",
    "Not yet known": "ابھی نامعلوم",
    "No customer matches.": "کوئی گاہک نہیں ملا۔",
    "No customers yet: add one here or at a till.": "ابھی کوئی گاہک نہیں: یہاں یا کسی ٹِل پر شامل کریں۔",
    "A balance in red is past the customer's credit limit.": "سرخ بقایا گاہک کی ادھار کی حد سے زیادہ ہے۔",
    "past limit": "حد سے زیادہ",
    "overdue": "واجب الادا",
    "An amount in the 30+ days column has been owed for more than 30 days: it is overdue, whatever the limit.":
        "30+ دن کے خانے کی رقم 30 دن سے زیادہ پرانی ہے: یہ واجب الادا ہے، حد جو بھی ہو۔",
    "This phone is not a mobile (03xx), so WhatsApp and SMS cannot reach it: copy the text above to send it another way.":
        "یہ فون موبائل (03xx) نہیں، اس لیے واٹس ایپ اور ایس ایم ایس اس تک نہیں پہنچتے: اوپر والا متن کاپی کر کے کسی اور طرح بھیجیں۔",
    "choose how to sort the list from the menu": "فہرست کی ترتیب مینو سے چنیں",
    # A customer's page
    "Khata": "کھاتہ",
    "Khata of {name}": "{name} کا کھاتہ",
    "CNIC": "شناختی کارڈ نمبر",
    "Statement": "گوشوارہ",
    "Balance today": "آج کا بقایا",
    "Print": "پرنٹ کریں",
    "Entry": "اندراج",
    "Brought forward": "سابقہ بقایا",
    "Balance at the end": "آخر میں بقایا",
    "+ the customer owes more; - they paid or were given credit back.":
        "+ گاہک کے ذمے مزید؛ - گاہک نے ادا کیا یا رقم کھاتے میں واپس ہوئی۔",
    "Sale on account": "ادھار پر فروخت",
    "Return to account": "کھاتے میں واپسی",
    "Payment received": "ادائیگی وصول",
    "Adjustment at the till": "ٹِل پر درستگی",
    "Adjustment by the owner": "مالک کی درستگی",
    "Send the balance": "بقایا بھیجیں",
    "WhatsApp": "واٹس ایپ",
    "SMS": "ایس ایم ایس",
    "Add a mobile number (03xx) to send the balance by WhatsApp.":
        "واٹس ایپ پر بقایا بھیجنے کے لیے موبائل نمبر (03xx) درج کریں۔",
    "The link opens WhatsApp or Messages on your phone with the text written; nothing is sent until you send it.":
        "لنک آپ کے فون پر واٹس ایپ یا میسجز کو لکھے ہوئے پیغام کے ساتھ کھولتا ہے؛ جب تک آپ نہ بھیجیں کچھ نہیں جاتا۔",
    "{name}, you owe {amount} on your khata at {shop} as of {day}. Thank you.":
        "{name}، {day} تک {shop} پر آپ کے کھاتے میں آپ کے ذمے {amount} ہیں۔ شکریہ۔",
    "{name}, we at {shop} hold {amount} of yours in advance on your khata as of {day}. Thank you.":
        "{name}، {day} تک {shop} کے پاس آپ کے کھاتے میں آپ کے {amount} پیشگی جمع ہیں۔ شکریہ۔",
    "{name}, your khata at {shop} is clear as of {day}: you owe nothing. Thank you.":
        "{name}، {day} تک {shop} پر آپ کا کھاتہ صاف ہے: آپ کے ذمے کچھ نہیں۔ شکریہ۔",
    "Message in": "پیغام کی زبان",
    "The reason for an adjustment is your own note: it shows here but is not printed on the statement.":
        "درستگی کی وجہ آپ کا اپنا نوٹ ہے: یہ یہاں نظر آتی ہے مگر گوشوارے پر پرنٹ نہیں ہوتی۔",
    "Owed to the shop": "دکان کا واجب الوصول",
    "Advances held": "پیشگی جمع رقم",
    "Paid ahead by customers: not a debt, so not in the age columns.":
        "گاہکوں کی پیشگی ادائیگی: یہ ادھار نہیں، اس لیے دنوں کے خانوں میں نہیں۔",
    "Adjust the balance": "بقایا درست کریں",
    "An adjustment is kept for good: to put one right, make another.":
        "درستگی ہمیشہ کے لیے محفوظ رہتی ہے: غلطی ٹھیک کرنے کے لیے ایک اور درستگی کریں۔",
    "The customer owes": "گاہک کے ذمے",
    "more (e.g. a balance from the paper khata)": "زیادہ (مثلاً کاغذی کھاتے کا بقایا)",
    "less (e.g. written off, a mistake put right)": "کم (مثلاً معاف کیا، غلطی درست کی)",
    "Amount (Rs)": "رقم (روپے)",
    "Record adjustment": "درستگی درج کریں",
    "choose whether they owe more or less": "چنیں کہ گاہک کے ذمے زیادہ ہے یا کم",
    "Details": "تفصیلات",
    "Customer added. Tills find them after the box's next khata sync.":
        "گاہک شامل ہو گیا۔ باکس کی اگلی کھاتہ سنک کے بعد ٹِل انہیں ڈھونڈ لیں گے۔",
    "Saved. Tills show the new details after the box's next khata sync.":
        "محفوظ ہو گیا۔ باکس کی اگلی کھاتہ سنک کے بعد ٹِل نئی تفصیلات دکھائیں گے۔",
    # The details form and a new customer
    "CNIC (optional)": "شناختی کارڈ نمبر (اختیاری)",
    "NTN (optional)": "این ٹی این (اختیاری)",
    "Credit limit (Rs)": "ادھار کی حد (روپے)",
    "A mobile number (03xx) gets the WhatsApp link.": "موبائل نمبر (03xx) پر واٹس ایپ لنک ملتا ہے۔",
    "A sale on account past it needs the owner's PIN at the till.":
        "اس سے زیادہ ادھار پر فروخت کے لیے ٹِل پر مالک کا پن ضروری ہے۔",
    "Add customer": "گاہک شامل کریں",
    "Tills find the customer by name or phone after the box's next khata sync.":
        "باکس کی اگلی کھاتہ سنک کے بعد ٹِل گاہک کو نام یا فون سے ڈھونڈ لیں گے۔",
    "must be a phone number, e.g. 0300 1234567 or +92 300 1234567":
        "فون نمبر ہونا چاہیے، مثلاً 0300 1234567 یا ‎+92 300 1234567",
    "must be a CNIC of 13 digits, e.g. 35202-1234567-1": "۱۳ ہندسوں کا شناختی کارڈ نمبر ہونا چاہیے، مثلاً 35202-1234567-1",
    "is too long": "بہت لمبا ہے",
    "must be more than zero": "صفر سے زیادہ ہونا چاہیے",
    "this shop has no customer with that id": "اس دکان کا اس شناخت والا کوئی گاہک نہیں",
    # Settings
    "Khata (credit)": "کھاتہ (ادھار)",
    "Credit limit of a new customer (Rs)": "نئے گاہک کی ادھار کی حد (روپے)",
    "What a customer made at a till may owe before a sale on account needs your PIN. Change it per customer on their page.":
        "ٹِل پر بنایا گیا گاہک اتنا ادھار لے سکتا ہے، اس سے زیادہ پر آپ کا پن چاہیے۔ ہر گاہک کے صفحے پر اسے بدلیں۔",
    "Credit a tablet may give without the box (Rs)": "باکس کے بغیر ٹیبلٹ کتنا ادھار دے سکتا ہے (روپے)",
    "When a tablet cannot reach the box, it refuses sales on account that would put more than this on one customer's khata.":
        "جب ٹیبلٹ باکس تک نہ پہنچ سکے تو وہ ایسی ادھار فروخت سے انکار کرتا ہے جو ایک گاہک کے کھاتے میں اس سے زیادہ ڈال دے۔",
    # Tenders and the report
    "On account": "ادھار",
    "Credit and collections": "ادھار اور وصولیاں",
    "Sold on account": "ادھار پر فروخت",
    "Returned to account": "کھاتے میں واپس",
    "Collected in cash": "نقد وصول",
    "Collected by card": "کارڈ سے وصول",
    "Collected by wallet": "والیٹ سے وصول",
    "Collected": "کل وصول",
    "Adjusted": "درستگی",
    "Back office": "بیک آفس",
    "Owner": "مالک",
    "Khata payments are not sales, so they are here and not in the sales reports.":
        "کھاتے کی ادائیگیاں فروخت نہیں، اس لیے یہاں ہیں، سیلز رپورٹس میں نہیں۔",
}
