"""How many SMS segments a text takes, by the GSM 03.38 rules phones and carriers use.

A text of only GSM 7-bit characters (the basic set, Danish æøå included, and the
extension table, whose characters take two septets: an escape and the character)
fits 160 septets in one SMS; any other character makes the whole text UCS-2, 70
UTF-16 units in one SMS.  A longer text is sent as concatenated segments of 153
septets or 67 units (the rest of each holds the header that joins them), and a
character never straddles two segments.
"""

from __future__ import annotations

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "\f^{}\\[~]|€"

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    """Whether the text can go in the GSM 7-bit alphabet."""
    return all(c in BASIC or c in EXTENSION for c in text)


def _units(text: str) -> list[int]:
    """The size of each character: septets in GSM 7-bit, UTF-16 units in UCS-2."""
    if is_gsm7(text):
        return [2 if c in EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def segments(text: str) -> int:
    """The number of SMS segments the text is sent as."""
    single, part = (GSM_SINGLE, GSM_PART) if is_gsm7(text) else (UCS2_SINGLE, UCS2_PART)
    units = _units(text)
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count
