"""Reading documents: the fields on ID cards, passports and business licences (OCR and QR
codes, in a bounded pool of worker processes) and the flags they raise against the typed
answers. Importing this package imports no OCR; only the reading workers do.

    from cardbot.reading.pool import read_document, schedule_reading
    from cardbot.reading.crosscheck import crosscheck
"""
