"""The Danish translation: complete, compiled and true to its placeholders, and
chosen by the browser, by ?lang= and for the mail and SMS a reset sends.

The catalogue tests read the source and the committed files only (no app, so
they run once, not once per database).  When one fails, run
scripts/translations, translate what it marks in the .po, and run it again.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale

from tests import pages
from tests.wizard import Wizard

ROOT = Path(__file__).resolve().parent.parent
DANISH = ROOT / "sspr" / "translations" / "da" / "LC_MESSAGES"
# The same keywords scripts/translations gives pybabel, on top of Babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["_l", "lazy_gettext", "lazy_ngettext:1,2"])}
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def source_messages():
    """{(msgid, context): is_plural} for every string marked in sspr/, found as babel.cfg says."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {}
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        plural = isinstance(message, tuple)
        found[(message[0] if plural else message, context)] = plural
    return found


def danish_catalog():
    with (DANISH / "messages.po").open("rb") as f:
        return read_po(f, locale="da")


def is_translated(entry, plural):
    if entry is None or entry.fuzzy or entry.pluralizable != plural:
        return False
    return all(entry.string) if plural else bool(entry.string)


def as_tuple(value):
    """Plural ids and strings are tuples from a .po and lists from a .mo."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def entries(catalog):
    """{(msgid, context): translation}, without the header."""
    return {(as_tuple(m.id), m.context): as_tuple(m.string) for m in catalog if m.id}


def placeholders(text):
    return sorted(set(PLACEHOLDER.findall(text)))


def test_every_source_message_has_a_danish_translation():
    """Each string marked for translation in sspr/ has a finished (non-empty, not fuzzy) Danish entry."""
    catalog = danish_catalog()

    missing = [
        msgid
        for (msgid, context), plural in sorted(source_messages().items(), key=str)
        if not is_translated(catalog.get(msgid, context), plural)
    ]

    assert not missing, "no finished Danish translation in da/messages.po for:\n" + "\n".join(missing)


def test_danish_catalog_holds_only_messages_the_source_uses():
    """An entry the source no longer has means the .po was not updated after a string changed
    (or the extraction stopped seeing a gettext name)."""
    used = source_messages()

    stale = sorted(
        m.id[0] if m.pluralizable else m.id
        for m in danish_catalog()
        if m.id and (m.id[0] if m.pluralizable else m.id, m.context) not in used
    )

    assert not stale, "da/messages.po has entries the source no longer uses:\n" + "\n".join(stale)


def test_committed_mo_is_the_compiled_po():
    """messages.mo holds exactly what compiling messages.po gives, so a forgotten compile fails here."""
    compiled = io.BytesIO()
    write_mo(compiled, danish_catalog())
    compiled.seek(0)

    expected = read_mo(compiled)
    with (DANISH / "messages.mo").open("rb") as f:
        committed = read_mo(f)

    assert entries(committed) == entries(expected)
    assert committed.plural_forms == expected.plural_forms == "nplurals=2; plural=(n != 1);"


def test_danish_translations_keep_the_placeholders():
    """Each translation has the same %(name)s placeholders as its English, or rendering fails or loses a value."""
    catalog = danish_catalog()

    wrong = []
    for message in catalog:
        if not message.id:
            continue
        sources = message.id if message.pluralizable else (message.id,)
        forms = message.string if message.pluralizable else (message.string,)
        for index, translated in enumerate(forms):
            english = sources[min(index, len(sources) - 1)]
            if translated and placeholders(translated) != placeholders(english):
                wrong.append(f"{english!r} -> {translated!r}")

    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


@pytest.fixture
def danish(client):
    """A browser that prefers Danish, for every request it makes."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
    return client


def test_accept_language_da_gets_the_danish_page(client):
    """A browser that prefers Danish gets the page in Danish, marked as such."""
    page = client.get("/password-reset", headers={"Accept-Language": "da"})

    html = page.get_data(as_text=True)
    assert '<html lang="da">' in html
    assert "Har du glemt din adgangskode?" in html


def test_accept_language_en_gets_the_english_page(client):
    """A browser that prefers English gets the page in English."""
    page = client.get("/password-reset", headers={"Accept-Language": "en"})

    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Forgot your password?" in html


def test_lang_parameter_switches_to_danish_for_the_session(client):
    """?lang=da switches to Danish, and later pages stay Danish though the browser prefers English."""
    switched = client.get("/password-reset?lang=da", headers={"Accept-Language": "en"})

    later = client.get("/login", headers={"Accept-Language": "en"})

    assert '<html lang="da">' in switched.get_data(as_text=True)
    assert '<html lang="da">' in later.get_data(as_text=True)
    assert "Log ind" in later.get_data(as_text=True)


def test_unsupported_language_falls_back_to_english(client):
    """A browser that asks only for languages sspr does not have gets English."""
    page = client.get("/password-reset", headers={"Accept-Language": "fr, de;q=0.8"})

    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Forgot your password?" in html


def test_unsupported_lang_parameter_is_ignored(client):
    """?lang= with a language sspr does not have changes nothing: the page stays English."""
    page = client.get("/password-reset?lang=fr")

    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Forgot your password?" in html


def test_text_forced_into_another_language_leaves_the_page_in_its_own(app):
    """In one request, text forced into a user's language (as a mail is) is in that language,
    and the page's own text before and after it in the page's."""
    template = "{{ _('Forgot your password?') }}"
    with app.test_request_context("/password-reset", headers={"Accept-Language": "en"}):
        before = render_template_string(template)
        with force_locale("da"):
            forced = render_template_string(template)
        after = render_template_string(template)

    assert before == after == "Forgot your password?"
    assert forced == "Har du glemt din adgangskode?"


def test_a_macro_imported_without_the_page_context_translates_too(app):
    """Macros imported without the page's context use the app-wide functions: the same text."""
    with app.test_request_context("/password-reset", headers={"Accept-Language": "da"}):
        macro = app.jinja_env.from_string("{% macro m() %}{{ _('Forgot your password?') }}{% endmacro %}")
        page = render_template_string("{{ m() }} / {{ _('Forgot your password?') }}", m=macro.module.m)

    assert page == "Har du glemt din adgangskode? / Har du glemt din adgangskode?"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Under autoescape the translation is markup and the values are escaped ...
        ("{{ _('Signed in as %(name)s', name='<b>&') }}", "Signed in as &lt;b&gt;&amp;"),
        # ... and without it (a text mail) neither is touched.
        ("{% autoescape false %}{{ _('Signed in as %(name)s', name='<b>&') }}{% endautoescape %}", "Signed in as <b>&"),
        # Always a format string: "%%" is one "%"; without values a "%" still formats.
        ("{{ _('100%% sure') }}", "100% sure"),
        ("{{ ngettext('%(num)d minute', '%(num)d minutes', 3) }}", "3 minutes"),
        ("{{ ngettext('%(num)d minute', '%(num)d minutes', 1) }}", "1 minute"),
    ],
)
def test_template_translations_format_as_jinja_i18n_does(app, template, expected):
    """sspr's own template gettext and ngettext give what Jinja's newstyle i18n gives."""
    with app.test_request_context("/password-reset", headers={"Accept-Language": "en"}):
        assert render_template_string(template) == expected


@pytest.mark.settings(LANGUAGES=["en", "de"])
def test_wtforms_own_messages_come_in_each_browsers_language(app):
    """WTForms' own messages (a method the page never offered) come in each browser's language,
    from WTForms' catalogue for it: German, which WTForms ships, then English."""
    pages_shown = {}
    for language in ("de", "en"):
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        wizard = Wizard(client)
        wizard.username("nobody")
        pages_shown[language] = wizard.method("fax")

    assert pages_shown["de"].status_code == pages_shown["en"].status_code == 400
    assert "Keine gültige Auswahl." in pages_shown["de"].get_data(as_text=True)
    assert "Not a valid choice." in pages_shown["en"].get_data(as_text=True)


@pytest.mark.policy(code_lifetime_minutes=10)
def test_verification_mail_is_danish_when_the_wizard_was_danish(danish, make_user, smtp, deliver):
    """A reset done in Danish mails the code in Danish: subject, text and HTML."""
    make_user("alice", alternate_email="alice@mail.example.org")
    wizard = Wizard(danish)
    wizard.username("alice")
    wizard.method("email")

    deliver()

    mail = smtp.wait_for("alice@mail.example.org")
    code = pages.code_in(mail.text)
    assert mail.message["Subject"] == "Din bekræftelseskode til sspr"
    assert mail.text.splitlines()[0] == f"Din bekræftelseskode er {code}"
    assert "Den er gyldig i 10 minutter og virker kun én gang." in mail.text
    assert '<html lang="da" dir="ltr">' in mail.html
    assert "Fortsæt uden at indtaste koden" in mail.html


@pytest.mark.policy(code_lifetime_minutes=10)
def test_verification_sms_is_danish_when_the_wizard_was_danish(danish, make_user, twilio, deliver):
    """A reset done in Danish texts the code in Danish."""
    make_user("bob", phone="+4520998877")
    wizard = Wizard(danish)
    wizard.username("bob")
    wizard.method("sms")

    deliver()

    sms = twilio.wait_for("+4520998877")
    code = pages.code_in(sms.body)
    assert sms.body == f"{code} er din kode til sspr. Gyldig i 10 min. Del den aldrig med andre."
