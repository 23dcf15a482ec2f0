"""The domain error hierarchy and the one place that turns errors into pages.

Each error carries an HTTP status and a public message for the person at the
browser; the precise internal reason goes to the log, never to the page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Response, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from sspr.i18n import lazy_gettext as _l

if TYPE_CHECKING:
    from flask import Flask
    from flask.typing import ResponseReturnValue

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A setting that cannot work; raised at start-up, shown as one line."""


class SsprError(Exception):
    """Base of the errors a request can end in."""

    status_code = 400
    public_title = _l("Something went wrong")
    public_message = _l("The request could not be handled.")

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason or self.__class__.__name__)
        self.reason = reason


class FlowError(SsprError):
    """The reset wizard cannot go on from the page that was posted."""

    public_title = _l("This reset cannot go on")
    public_message = _l("This password reset is no longer valid. Please start again.")


class FlowExpired(FlowError):
    public_title = _l("This page has expired")
    public_message = _l("Too much time passed since the last step. Please start again.")


class FlowTampered(FlowError):
    public_message = _l("The form was changed or belongs to another browser. Please start again.")


class FlowReplayed(FlowError):
    status_code = 409
    public_title = _l("This step is already done")
    public_message = _l("This step was already completed, perhaps in another tab. Please start again.")


class TooManyWrongCodes(FlowError):
    status_code = 429
    public_title = _l("Too many wrong codes")
    public_message = _l("The code was entered wrongly too many times. Please start again to get a new code.")


class LinkUsed(SsprError):
    status_code = 410
    public_title = _l("This link has already been used")
    public_message = _l("Each link in a verification mail works once. If you did not finish, start again.")


class LinkExpired(SsprError):
    status_code = 410
    public_title = _l("This link has expired")
    public_message = _l("The link in the mail is no longer valid. Start again to get a new code.")


class LinkInvalid(SsprError):
    status_code = 404
    public_title = _l("This link is not valid")
    public_message = _l("The link is incomplete or was changed. Copy the whole link from the mail, or start again.")


class ReportLinkInvalid(SsprError):
    status_code = 404
    public_title = _l("This link is not valid")
    public_message = _l("The link is incomplete, was changed or is too old. Contact your IT support.")


class RevealInvalid(SsprError):
    status_code = 404
    public_title = _l("This link is not valid")
    public_message = _l("The link is incomplete or was changed. Copy the whole link from the mail.")


class RevealUsed(SsprError):
    status_code = 410
    public_title = _l("This password has already been shown")
    public_message = _l(
        "A temporary password is shown once and then erased. If you did not see it, ask your administrator "
        "for a new one."
    )


class RevealExpired(SsprError):
    status_code = 410
    public_title = _l("This link has expired")
    public_message = _l("The temporary password in this link is no longer valid. Ask your administrator for a new one.")


class SetupUnavailable(SsprError):
    status_code = 404
    public_title = _l("This setup link is not valid")
    public_message = _l("The link has expired, or the first administrator has already been created.")


class DeliveryFailed(Exception):
    """A sender could not hand a message over; the outbox retries it later."""


def register(app: Flask) -> None:
    """Every error becomes a friendly page with the right status, never a stack trace."""

    @app.errorhandler(SsprError)
    def domain_error(error: SsprError) -> ResponseReturnValue:
        log.info("%s: %s", type(error).__name__, error.reason)
        return _page(error.status_code, str(error.public_title), str(error.public_message))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        log.info("CSRF refused: %s", error.description)
        return _page(
            400,
            str(_l("The form has expired")),
            str(_l("The form was open too long or came from another site. Go back, reload the page and try again.")),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        title, message = HTTP_MESSAGES.get(
            status, (_l("Something went wrong"), _l("The request could not be handled."))
        )
        response = _page(status, str(title), str(message))
        if retry_after := dict(error.get_headers()).get("Retry-After"):
            response.headers["Retry-After"] = retry_after
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return _page(
            500,
            str(_l("Something went wrong on our side")),
            str(_l("Nothing was changed. Please try again in a moment.")),
        )


HTTP_MESSAGES = {
    400: (_l("The request was not understood"), _l("Go back, reload the page and try again.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed here"), _l("This page cannot be used that way. Go back and use the form.")),
    413: (_l("Too much data"), _l("The form sent more data than any field can hold.")),
    429: (_l("Too many attempts"), _l("Please wait a little and try again.")),
}


def _page(status: int, title: str, message: str) -> Response:
    return make_response(render_template("errors/error.html", title=title, message=message, status=status), status)
