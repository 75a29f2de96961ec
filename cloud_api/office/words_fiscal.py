"""Urdu for the back office's FBR / PRA page and the POS service fee on a receipt (see words.py)."""
URDU: dict[str, str] = {
    "FBR / PRA": "ایف بی آر / پی آر اے",
    "FBR / PRA reporting": "ایف بی آر / پی آر اے رپورٹنگ",
    "Saved. The box uses the new settings after its next catalog update.":
        "محفوظ ہو گیا۔ باکس اگلی کیٹلاگ اپ ڈیٹ کے بعد نئی ترتیبات استعمال کرے گا۔",
    "POSID saved. The box uses it after its next catalog update.":
        "POSID محفوظ ہو گیا۔ باکس اگلی کیٹلاگ اپ ڈیٹ کے بعد اسے استعمال کرے گا۔",
    "Retry asked: the box offers its failed invoices again after its next catalog update.":
        "دوبارہ کوشش کی درخواست ہو گئی: باکس اگلی کیٹلاگ اپ ڈیٹ کے بعد ناکام رسیدیں دوبارہ بھیجے گا۔",
    "Reporting has stopped: {reason}": "رپورٹنگ رک گئی ہے: {reason}",
    "Enter the right token below; the box starts again when it changes, or press Retry.":
        "نیچے درست ٹوکن درج کریں؛ ٹوکن بدلنے پر باکس دوبارہ شروع کرے گا، یا دوبارہ کوشش دبائیں۔",
    "No token is set: the box cannot report invoices until you enter one.":
        "کوئی ٹوکن درج نہیں: جب تک آپ ٹوکن درج نہ کریں باکس رسیدیں رپورٹ نہیں کر سکتا۔",
    "Without a POSID: {tablets}. Their invoices wait until you give them one.":
        "بغیر POSID کے: {tablets}۔ ان کی رسیدیں POSID ملنے تک انتظار کریں گی۔",
    "The box says:": "باکس کہتا ہے:",
    "Invoices reported": "رپورٹ کی گئی رسیدیں",
    "Last heard from the box {box} at {at}.": "باکس {box} سے آخری اطلاع: {at}",
    "Fiscalized": "رپورٹ ہو گئیں",
    "Pending": "زیرِ انتظار",
    "Failed": "ناکام",
    "No invoices yet.": "ابھی کوئی رسید نہیں۔",
    "Failed invoices": "ناکام رسیدیں",
    "Kind": "قسم",
    "Status": "حالت",
    "What FBR / PRA said": "ایف بی آر / پی آر اے کا جواب",
    "no clear answer": "واضح جواب نہیں ملا",
    "refused": "مسترد",
    "revoked": "منسوخ شدہ",
    "The box has not reported on FBR / PRA invoices yet.": "باکس نے ابھی ایف بی آر / پی آر اے رسیدوں کی اطلاع نہیں دی۔",
    "After you fixed what FBR / PRA refused (a PCT code, a POSID, the token), send the failed invoices again.":
        "ایف بی آر / پی آر اے نے جو مسترد کیا (PCT کوڈ، POSID، ٹوکن) اسے درست کرنے کے بعد ناکام رسیدیں دوبارہ بھیجیں۔",
    "Retry failed invoices": "ناکام رسیدیں دوبارہ بھیجیں",
    "Report invoices to": "رسیدیں کسے رپورٹ کریں",
    "Nobody (off)": "کسی کو نہیں (بند)",
    "FBR (federal)": "ایف بی آر (وفاقی)",
    "PRA (Punjab)": "پی آر اے (پنجاب)",
    "Environment": "ماحول",
    "Sandbox (testing)": "سینڈ باکس (آزمائش)",
    "Production (real invoices)": "پروڈکشن (اصل رسیدیں)",
    "Token": "ٹوکن",
    "A token is set. It is never shown; type a new one to replace it.":
        "ٹوکن درج ہے۔ یہ کبھی دکھایا نہیں جاتا؛ بدلنے کے لیے نیا ٹوکن لکھیں۔",
    "No token is set.": "کوئی ٹوکن درج نہیں۔",
    "Forget the token": "ٹوکن ہٹا دیں",
    "Charge the Re 1 POS service fee on every sale": "ہر فروخت پر 1 روپیہ پی او ایس سروس فیس لیں",
    "PRA: GST by how the customer pays (%)": "پی آر اے: ادائیگی کے طریقے کے مطابق جی ایس ٹی (%)",
    "E.g. 16 for cash and 5 for card. Empty keeps each product's own rate.":
        "مثلاً نقد پر 16 اور کارڈ پر 5۔ خالی چھوڑیں تو ہر چیز کی اپنی شرح لگے گی۔",
    "POSID of each tablet": "ہر ٹیبلٹ کا POSID",
    "The POS registration number FBR or PRA gave each counter. Empty takes it away.":
        "ہر کاؤنٹر کا وہ پی او ایس رجسٹریشن نمبر جو ایف بی آر یا پی آر اے نے دیا۔ خالی چھوڑنے سے ہٹ جاتا ہے۔",
    "POSID": "POSID (پی او ایس نمبر)",
    "POSID of {code}": "{code} کا POSID",
    "Save POSID of {code}": "{code} کا POSID محفوظ کریں",
    "No tablet is known yet: pair one at the shop's box, then come back. A tablet paired just now appears "
    "here within a minute.":
        "ابھی کوئی ٹیبلٹ معلوم نہیں: دکان کے باکس سے ٹیبلٹ جوڑیں، پھر واپس آئیں۔ ابھی جوڑا گیا ٹیبلٹ ایک منٹ میں یہاں"
        " نظر آئے گا۔",
    # what cloud_api/fiscal.py and the page's checks say (office/fiscal.py MESSAGES)
    "the token must be printable ASCII without spaces, as FBR or PRA issued it":
        "ٹوکن ویسا ہی ہونا چاہیے جیسا ایف بی آر یا پی آر اے نے دیا: انگریزی حروف اور ہندسے، بغیر خالی جگہ کے",
    "POSID {pos_id} is already {code}'s": "POSID {pos_id} پہلے ہی {code} کا ہے",
    "this shop has no tablet with that device id": "اس دکان میں اس آئی ڈی کا کوئی ٹیبلٹ نہیں",
    "must be off, FBR or PRA": "بند، ایف بی آر یا پی آر اے میں سے ہونا چاہیے",
    "must be sandbox or production": "سینڈ باکس یا پروڈکشن ہونا چاہیے",
    "must be a whole number from 1 to 1000000000000": "1 سے 1000000000000 تک کا پورا عدد ہونا چاہیے",
    # a receipt's Re 1 fee (sales.py, receipt.html)
    "POS service fee (FBR)": "پی او ایس سروس فیس (ایف بی آر)",
}
