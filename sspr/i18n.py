"""Language choice: an explicit pick (?lang=, kept in the session), else the
browser's Accept-Language, else the first configured language."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale

from sspr.extensions import babel


def select_locale() -> str:
    languages: list[str] = current_app.config["LANGUAGES"]
    if not has_request_context():
        # A command or the sender thread: no browser to ask.  Messages to a
        # user force that user's language themselves.
        return languages[0]
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages) or languages[0]


def text_direction() -> str:
    """How the current language is written, "ltr" or "rtl", for an <html dir>."""
    locale = get_locale()
    return locale.text_direction if locale is not None else "ltr"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.jinja_env.globals["text_direction"] = text_direction

    @app.before_request
    def remember_language_pick() -> None:
        picked = request.args.get("lang")
        if picked in app.config["LANGUAGES"]:
            session["locale"] = picked
