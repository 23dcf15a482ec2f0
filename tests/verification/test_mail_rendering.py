"""Every mail sspr sends, in English and in Danish, as a real SMTP server receives
it: a text part that reads on its own and an HTML part that common clients show
as meant (one column, inline styles, nothing fetched or run), both in the mail's
language, with the same full links built from BASE_URL."""

from __future__ import annotations

import email.policy
import re
from collections.abc import Callable
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from sspr import clock, message_limits, notifications, users
from sspr.extensions import db
from sspr.models import User
from sspr.reveal import service as reveal
from sspr.verification import email as mail_module
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.servers import ReceivedMail
from tests.wizard import Wizard

pytestmark = pytest.mark.backends("sqlite")  # rendering does not depend on the database

LANGUAGES = ("en", "da")
USERNAME = "alice"
ADDRESS = "alice@mail.example.org"
OLD_ADDRESS = "alice.old@mail.example.org"
ADMIN = "root"
ADMIN_ADDRESS = "root@mail.example.org"
CODE = "48213907"


def _code(user: User) -> None:
    """The code /account sends to confirm a new address: no link."""
    notifications.queue(
        notifications.verification_code("email", ADDRESS, CODE, minutes=10, locale=user.locale),
    )


def _reveal(user: User) -> None:
    now = clock.now()
    link = reveal.url(reveal.create(user, "a-temporary-password", now))
    hours = int(reveal.LIFETIME.total_seconds() // 3600)
    notifications.reveal_link(user, ADDRESS, link, hours=hours, not_after=now + reveal.LIFETIME)


# Each mail but the wizard's code mail (which a walk through the wizard sends):
# what sends it about alice, and who receives it.
SENDERS: dict[str, tuple[Callable[[User], object], str]] = {
    "code": (_code, ADDRESS),
    "password_changed": (lambda user: notifications.password_changed(user, "self"), ADDRESS),
    "password_reset_by_admin": (lambda user: notifications.password_changed(user, "admin"), ADDRESS),
    "account_unlocked": (notifications.account_unlocked, ADDRESS),
    "contact_changed": (lambda user: notifications.contact_changed(user, "email", OLD_ADDRESS), OLD_ADDRESS),
    "expiry_reminder": (lambda user: notifications.expiry_reminder(user, 7), ADDRESS),
    "reveal": (_reveal, ADDRESS),
    "admin_alert_self_reset": (lambda user: notifications.alert_admins(user, "self_reset"), ADMIN_ADDRESS),
    "admin_alert_reported": (lambda user: notifications.alert_admins(user, "reported"), ADMIN_ADDRESS),
    "sms_ceiling": (lambda user: notifications.alert_sms_ceiling(100), ADMIN_ADDRESS),
}
KINDS = sorted([*SENDERS, "code_with_link"])
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
WORDS = re.compile(r"[^\W\d_]{2}")  # letters: a sentence or a label, not a bare code
FORBIDDEN = {"script", "link", "style", "iframe", "object", "embed", "form", "input", "base"}


@pytest.fixture
def send(app, make_user, smtp, deliver) -> Callable[[str, str], ReceivedMail]:
    """Send one kind of mail about alice in a language (hers, or the admin's who gets it); the mail as received."""
    make_user(USERNAME, display_name="Alice Jensen", alternate_email=ADDRESS)
    make_user(ADMIN, display_name="Root Admin", alternate_email=ADMIN_ADDRESS, role="global-admin")

    def run(kind: str, lang: str) -> ReceivedMail:
        smtp.inbox.clear()
        if kind == "code_with_link":
            browser = app.test_client()
            browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
            wizard = Wizard(browser)
            wizard.username(USERNAME)
            wizard.method("email")
            recipient = ADDRESS
        else:
            sender, recipient = SENDERS[kind]
            with app.app_context():
                db.session.execute(update(User).values(locale=lang))
                user = users.find(USERNAME)
                assert user is not None
                sender(user)
                db.session.commit()
        deliver()
        return smtp.wait_for(recipient)

    return run


@pytest.fixture(scope="module")
def received() -> dict[tuple[str, str], ReceivedMail]:
    """The mails this module has had sent, by kind and language."""
    return {}


@pytest.fixture
def mail_of(request, received, backend) -> Callable[[str, str], ReceivedMail]:
    """A mail of a kind in a language, sent once for the whole module (an app only when first
    asked for: that is what makes this module quick), then read by each test.  ``backend``
    makes the tests parametrised by it, which the app under ``send`` needs."""

    def get(kind: str, lang: str) -> ReceivedMail:
        if (kind, lang) not in received:
            received[(kind, lang)] = request.getfixturevalue("send")(kind, lang)
        return received[(kind, lang)]

    return get


class Html(HTMLParser):
    """What the tests read of an HTML part: its tags, whether they nest properly,
    its title, its paragraphs (and whether each is a button), and each piece of
    text with the style of the element around it and whether it is in a link."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.errors: list[str] = []
        self.open: list[tuple[str, str]] = []
        self.title = ""
        self.paragraphs: list[tuple[str, bool]] = []
        self.styled_texts: list[tuple[str, str, bool]] = []
        self._paragraph: list[str] | None = None
        self._in_link = False
        self.feed(markup)
        self.close()
        self.errors += [f"<{tag}> never closed" for tag, _ in self.open]

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        if tag in VOID:
            return
        self.open.append((tag, values.get("style", "")))
        if tag == "p":
            self._paragraph = []
        self._in_link = self._in_link or tag == "a"

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1][0] if self.open else 'nothing'}")
            return
        self.open.pop()
        if tag == "p" and self._paragraph is not None:
            self.paragraphs.append((" ".join("".join(self._paragraph).split()), False))
            self._paragraph = None
        if tag == "a":
            self._in_link = False

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1][0] == "title":
            self.title += data
        if self._paragraph is not None:
            self._paragraph.append(data)
        elif self._in_link and data.strip():
            self.paragraphs.append((data.strip(), True))
        if data.strip() and self.open:
            self.styled_texts.append((data.strip(), self.open[-1][1], self._in_link))

    def attributes(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def text_links(text: str) -> list[str]:
    return pages.URL_RE.findall(text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_mail_has_a_text_and_an_html_part(mail_of, kind, lang):
    """Each mail is multipart/alternative with a UTF-8 text/plain part first and a text/html part second."""
    mail = mail_of(kind, lang)

    parts = list(mail.message.iter_parts())
    assert mail.message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parts)
    assert mail.text.strip() and mail.html.strip()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_html_part_states_its_language_direction_and_title(mail_of, kind, lang):
    """The HTML says it is in the mail's language (screen readers pick their voice by it), which
    way it reads, and has the subject as its title."""
    mail = mail_of(kind, lang)

    html = Html(mail.html)
    (root,) = html.attributes("html")
    assert root["lang"] == lang
    assert root["dir"] == "ltr"
    assert html.title == mail.message["Subject"]
    assert html.doctype.lower() == "doctype html"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_html_part_is_well_formed_and_self_contained(mail_of, kind, lang):
    """Every tag is closed in order; there is nothing a client strips or fetches or runs: no
    script, stylesheet, <style> block, form, frame, external image, event handler or
    javascript: link."""
    mail = mail_of(kind, lang)

    html = Html(mail.html)
    assert html.errors == []
    assert {tag for tag, _ in html.tags} & FORBIDDEN == set()
    assert all(not re.match(r"(https?:)?//", img.get("src", "")) for img in html.attributes("img"))
    assert all(not name.startswith("on") for _, attrs in html.tags for name in attrs)
    assert all(not a["href"].lower().startswith("javascript:") for a in html.attributes("a"))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_nothing_of_the_templates_is_left_in_the_mail(mail_of, kind, lang):
    """No Jinja markup or unfilled %(name)s placeholder reaches the subject, the text or the HTML."""
    mail = mail_of(kind, lang)

    for content in (mail.message["Subject"], mail.text, mail.html):
        for leftover in ("{{", "}}", "{%", "%}", "%("):
            assert leftover not in content


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_both_parts_carry_the_same_full_base_url_links(mail_of, kind, lang):
    """The links of the text part are those of the HTML part, in the same order, each a
    full https URL under BASE_URL (never a relative one, never another host)."""
    mail = mail_of(kind, lang)

    hrefs = [a["href"] for a in Html(mail.html).attributes("a")]
    assert text_links(mail.text) == hrefs
    assert all(link.startswith(BASE_URL + "/") and link.startswith("https://") for link in hrefs)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_text_part_says_everything_the_html_part_says(mail_of, kind, lang):
    """Every paragraph of the HTML is in the text part too (a button's label excepted: the text
    part gives its URL), so a client that shows only text loses nothing."""
    mail = mail_of(kind, lang)

    text = " ".join(mail.text.split())
    missing = [words for words, button in Html(mail.html).paragraphs if not button and words not in text]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_danish_mail_has_no_english_left(mail_of, kind):
    """No sentence of the English mail (subject, text line, HTML paragraph or button) is in the Danish one."""
    english, danish = mail_of(kind, "en"), mail_of(kind, "da")

    english_lines = [line for line in english.text.splitlines() if WORDS.search(line) and not pages.URL_RE.match(line)]
    english_paragraphs = [words for words, _ in Html(english.html).paragraphs if WORDS.search(words)]
    assert english.message["Subject"] != danish.message["Subject"]
    assert english_lines and english_paragraphs
    assert [line for line in english_lines if line in danish.text] == []
    assert [words for words in english_paragraphs if words in danish.html] == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ["code", "code_with_link"])
def test_code_is_first_in_the_text_and_large_selectable_text_in_the_html(mail_of, kind, lang):
    """The text part's first line ends with the code; in the HTML the code is plain text on its
    own, at least 24px, outside any link, so it can be read at a glance and copied."""
    mail = mail_of(kind, lang)

    code = pages.code_in(mail.text)
    html = Html(mail.html)
    ((style, in_link),) = [(style, in_link) for text, style, in_link in html.styled_texts if text == code]
    size = re.search(r"font-size:\s*(\d+)px", style)
    assert mail.text.splitlines()[0].endswith(" " + code)
    assert size is not None and int(size.group(1)) >= 24
    assert not in_link
    assert html.attributes("img") == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_names_are_verbatim_in_the_text_and_escaped_in_the_html(send, app, lang):
    """A display name with markup characters reads as typed in the text part and cannot
    become markup in the HTML part."""
    with app.app_context():
        db.session.execute(update(User).where(User.username == USERNAME).values(display_name="Åse & Bo <b>"))
        db.session.commit()

    mail = send("password_changed", lang)

    assert "Åse & Bo <b>" in mail.text
    assert "Åse &amp; Bo &lt;b&gt;" in mail.html
    assert "<b>" not in mail.html


@pytest.mark.parametrize(
    ("alert", "field", "value"),
    [
        (lambda user: notifications.alert_admins(user, "reported"), "user", USERNAME),
        (lambda user: message_limits.ceiling_reached(user, clock.now()), "event", "sms.ceiling_reached"),
    ],
    ids=["reported", "sms_ceiling"],
)
def test_admin_alert_links_to_the_audit_log_filtered_to_its_subject(
    app, client, make_user, smtp, deliver, alert, field, value
):
    """The link in an alert to admins opens the audit log with its filter already set to the
    user or the event the alert is about."""
    make_user(USERNAME, alternate_email=ADDRESS)
    make_user(ADMIN, alternate_email=ADMIN_ADDRESS, role="global-admin")
    with app.app_context():
        alert(users.find(USERNAME))
        db.session.commit()
    deliver()
    link = pages.URL_RE.findall(smtp.wait_for(ADMIN_ADDRESS).text)[-1]
    pages.sign_in(client, ADMIN, PASSWORD)

    page = client.get(link.removeprefix(BASE_URL))

    tags = Html(page.get_data(as_text=True)).tags
    typed = [attrs.get("value") for tag, attrs in tags if tag == "input" and attrs.get("name") == field]
    chosen = [attrs.get("value") for tag, attrs in tags if tag == "option" and "selected" in attrs]
    assert page.status_code == 200
    assert value in typed + chosen


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_mail_is_built_byte_for_byte_as_the_standard_email_policy_builds_it(app, monkeypatch, lang):
    """The outbox's quicker header handling (classes made once, repeated headers parsed once)
    changes nothing in the mail: each mail, the first and the later ones, is what
    email.policy.default makes of it (the date, Message-ID and boundary held fixed)."""
    with app.test_request_context():
        code = notifications.verification_code("email", ADDRESS, CODE, minutes=10, locale=lang, link=BASE_URL + "/x")
    mail = SimpleNamespace(id=1, recipient=ADDRESS, subject=code.subject, body_text=code.text, body_html=code.html)
    monkeypatch.setattr(mail_module, "formatdate", lambda **_: "Thu, 26 Nov 2026 04:01:34 +0000")
    monkeypatch.setattr(mail_module, "make_msgid", lambda domain: f"<1.2.3@{domain}>")
    sender = "SSPR Nulstilling Æ <no-reply@reset.example.test>"

    def built() -> bytes:
        message = mail_module.build_message(mail, sender)
        message.set_boundary("boundary")
        return bytes(message)

    quick = [built() for _ in range(3)]
    monkeypatch.setattr(mail_module, "POLICY", email.policy.default)
    standard = built()

    assert quick == [standard] * 3
