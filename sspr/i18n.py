"""Language choice: an explicit pick (?lang=, kept in the session), else the
browser's Accept-Language, else the first configured language.  And the
translation functions sspr's code and templates call: Flask-Babel's, with the
language's catalogue found once per request instead of for every string."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from babel import Locale, support
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import LazyString, get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from wtforms.i18n import messages_path

from sspr.extensions import babel


def select_locale() -> Locale:
    return _parsed(_language())


def _language() -> str:
    languages: list[str] = current_app.config["LANGUAGES"]
    if not has_request_context():
        # A command or the sender thread: no browser to ask.  Messages to a
        # user force that user's language themselves.
        return languages[0]
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or languages[0]


@cache
def _parsed(language: str) -> Locale:
    """Parsed once per process (Flask-Babel would parse the code again in every request)."""
    return Locale.parse(language)


class WTFormsMessages:
    """WTForms' own messages (such as "Not a valid choice.") in the current language.
    Flask-WTF reads WTForms' catalogue from disk again in every request that shows
    one; here each language's catalogue is read once per process."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


WTFORMS_MESSAGES = WTFormsMessages()


@cache
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _translations() -> support.NullTranslations:
    """Flask-Babel's catalogue for the current language, found once per request and
    language (a mail forces its user's language): Flask-Babel's own lookup reads a
    dozen context locals, and a page asks for it 10 to 20 times."""
    if not has_app_context():
        return NULL_TRANSLATIONS
    locale = get_locale()
    found = g.get("sspr_translations")
    if found is None or found[0] is not locale:
        found = g.sspr_translations = (locale, get_translations())
    return found[1]  # type: ignore[no-any-return]


NULL_TRANSLATIONS = support.NullTranslations()


def gettext(string: str, **variables: Any) -> str:
    """Flask-Babel's gettext, through the catalogue found once per request."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """Translated when shown, in the language of the page or mail it is shown in."""
    return LazyString(gettext, string, **variables)


def _template_functions(catalogue: Callable[[], support.NullTranslations]) -> dict[str, Any]:
    """Jinja's gettext and ngettext ("newstyle", as Flask-Babel installs them),
    each one call rather than Jinja's three, taking the catalogue from ``catalogue``."""

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        return _formatted(context, catalogue().ugettext(string), variables)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return _formatted(context, catalogue().ungettext(singular, plural, num), variables)

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def _page_functions() -> dict[str, Any]:
    """For each render, the functions bound to the catalogue of the language it renders
    in (a mail in its user's language included): a page asks for 20 to 30 strings, and
    finding the catalogue took most of the time of each."""
    found = _translations()
    return _template_functions(lambda: found)


def _formatted(context: Context, text: str, variables: dict[str, Any]) -> str:
    """As Jinja's own ("newstyle") gettext: the translation is markup where the
    template escapes, and always a format string (without a "%" it stays as it is)."""
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our own catalogue's text, as Jinja's i18n does
    return text % variables if variables or "%" in text else text


def text_direction() -> str:
    """How the current language is written, "ltr" or "rtl", for an <html dir>."""
    locale = get_locale()
    return locale.text_direction if locale is not None else "ltr"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    # In place of the callables Flask-Babel gave the templates: the same, with the look-up
    # above; a page gets them bound to its catalogue, and macros imported without the
    # page's context get these, which look it up on each call.
    app.jinja_env.globals.update(_template_functions(_translations))
    app.context_processor(_page_functions)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.jinja_env.globals["text_direction"] = text_direction

    @app.before_request
    def remember_language_pick() -> None:
        picked = request.args.get("lang")
        if picked in app.config["LANGUAGES"]:
            session["locale"] = picked
