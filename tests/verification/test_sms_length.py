"""Every SMS sspr sends, in English and Danish, at its longest: a 30-character
SITE_NAME, 8-digit codes valid 60 minutes, a 30-character user name.  A code
fits one segment with the code first, so it arrives whole and shows in the
phone's preview; a notice, which carries a link, fits two.  The counting
follows GSM 03.38 (tests/gsm.py), which the first tests pin down."""

from __future__ import annotations

import pytest

from sspr import notifications, users
from sspr.extensions import db
from tests import gsm, pages
from tests.wizard import Wizard

SITE = "Region Sjælland, Selvbetjening"
USERNAME = "karl-christian.lindholm-jensen"
PHONE = "+4520123456"
LANGUAGES = ("en", "da")
EN_DASH = "\u2013"

# The messages that tell a user something happened, each with what sends it.
NOTICES = {
    "password_changed": lambda user: notifications.password_changed(user, "self"),
    "password_reset_by_admin": lambda user: notifications.password_changed(user, "admin"),
    "account_unlocked": notifications.account_unlocked,
    "contact_changed": lambda user: notifications.contact_changed(user, "sms", PHONE),
    "expiry_reminder": lambda user: notifications.expiry_reminder(user, 60),
}


def test_sample_values_are_as_long_as_the_docstring_says():
    """The site and user names measured here are the 30 characters the limits are stated for."""
    assert (len(SITE), len(USERNAME)) == (30, 30)


def test_160_gsm_characters_are_one_segment_and_161_are_two():
    """One SMS holds 160 septets; one more makes two segments."""
    assert (gsm.segments("a" * 160), gsm.segments("a" * 161)) == (1, 2)


def test_danish_letters_are_in_the_gsm_alphabet():
    """æøå and ÆØÅ are in the GSM basic set: a Danish text stays at 160 characters an SMS."""
    assert gsm.is_gsm7("æøåÆØÅ")
    assert gsm.segments("æøå" * 53 + "Å") == 1


def test_extension_characters_take_two_septets():
    """€ and the other extension characters are sent as an escape and the character."""
    assert (gsm.segments("€" * 80), gsm.segments("€" * 80 + "a")) == (1, 2)


def test_long_gsm_texts_take_segments_of_153_septets():
    """Joined segments hold 153 septets each: 306 septets are two segments, 307 three."""
    assert (gsm.segments("a" * 306), gsm.segments("a" * 307)) == (2, 3)


def test_an_extension_character_is_not_split_between_segments():
    """306 septets whose escape pair would straddle the first break take three segments, not two."""
    assert gsm.segments("a" * 152 + "€" + "a" * 152) == 3


def test_one_character_outside_gsm_makes_the_whole_text_ucs2():
    """An en dash is not GSM: the text is UCS-2, 70 characters in one SMS, then 67 a segment."""
    assert not gsm.is_gsm7("a" + EN_DASH)
    assert (gsm.segments("a" * 69 + EN_DASH), gsm.segments("a" * 70 + EN_DASH)) == (1, 2)
    assert (gsm.segments(EN_DASH * 134), gsm.segments(EN_DASH * 135)) == (2, 3)


@pytest.mark.backends("sqlite")
@pytest.mark.settings(SITE_NAME=SITE, CODE_DIGITS=8)
@pytest.mark.policy(code_lifetime_minutes=60)
@pytest.mark.parametrize(("lang", "words"), [("en", " is your "), ("da", " er din ")])
def test_code_sms_is_one_gsm_segment_with_the_code_first(client, make_user, twilio, deliver, lang, words):
    """The wizard's code SMS, at its longest, is one GSM 7-bit segment that starts with the code."""
    make_user(USERNAME, alternate_email=None, phone=PHONE)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    wizard = Wizard(client)
    wizard.username(USERNAME)
    wizard.method("sms")

    deliver()

    body = twilio.wait_for(PHONE).body
    code = pages.code_in(body)
    assert len(code) == 8
    assert body.startswith(code + words)
    assert SITE in body and "60" in body
    assert gsm.is_gsm7(body)
    assert gsm.segments(body) == 1


@pytest.mark.backends("sqlite")
@pytest.mark.settings(SITE_NAME=SITE)
@pytest.mark.parametrize("notice", sorted(NOTICES))
def test_notice_sms_fits_two_gsm_segments_in_both_languages(app, make_user, twilio, deliver, notice):
    """Each notice, sent in English and in Danish, is GSM 7-bit, names the site first and
    takes at most two segments; the two languages' texts differ (the Danish is translated)."""
    make_user(USERNAME, alternate_email=None, phone=PHONE)
    bodies = {}

    for lang in LANGUAGES:
        twilio.inbox.clear()
        with app.app_context():
            user = users.find(USERNAME)
            assert user is not None
            user.locale = lang
            NOTICES[notice](user)
            db.session.commit()
        deliver()
        bodies[lang] = twilio.wait_for(PHONE).body

    without_links = {lang: pages.URL_RE.sub("", body) for lang, body in bodies.items()}
    assert without_links["en"] != without_links["da"]
    for body in bodies.values():
        assert body.startswith(SITE + ": ")
        assert gsm.is_gsm7(body)
        assert gsm.segments(body) <= 2
