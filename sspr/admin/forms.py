"""The console's forms."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from sspr import policy
from sspr.admin.audit_log import Filters
from sspr.forms import PASSWORD_INPUT_MAX, PlainText, SsprForm
from sspr.i18n import lazy_gettext as _l


class ReauthForm(SsprForm):
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password.")), PlainText(PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    # Room for a bulk action's URL: up to a page of ticked user ids ride in its query string.
    next = HiddenField(validators=[PlainText(2000)])
    submit = SubmitField(_l("Confirm"))


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes, which work without JavaScript (a multiple select does not, for most people)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


NUMBER = {"inputmode": "numeric", "class": "short", "autocomplete": "off"}


class PolicyForm(SsprForm):
    """One field per policy key, named as `sspr policy set` names it.  The fields
    only collect text: policy.parse checks every value (see policy_edit), so the
    console refuses what the command line refuses, with the same messages."""

    self_service = RadioField(
        _l("Who may reset their own password"),
        choices=[
            SelectChoice("everyone", _l("Everyone")),
            SelectChoice("group", _l("Only the members of one group")),
            SelectChoice("nobody", _l("Nobody: people ask the helpdesk")),
        ],
        validate_choice=False,
    )
    self_service_group = StringField(
        _l("Group"),
        description=_l("The group's name, as in the users' groups. Used when only one group may reset."),
        render_kw={"autocomplete": "off"},
    )
    methods = CheckboxesField(
        _l("Ways to prove who they are"),
        choices=[
            SelectChoice("email", _l("A code by e-mail to their alternate e-mail address")),
            SelectChoice("sms", _l("A code by text message (SMS) to their mobile phone")),
        ],
        description=_l("People can use only the ways they have registered."),
        validate_choice=False,
    )
    methods_required = RadioField(
        _l("Checks a reset needs"),
        choices=[SelectChoice("1", _l("One")), SelectChoice("2", _l("Two, by different ways"))],
        description=_l("Admins always need two, whatever is chosen here."),
        validate_choice=False,
    )
    code_lifetime_minutes = StringField(
        _l("Code lifetime"), description=_l("Minutes a code works after it is sent: 1 to 60."), render_kw=NUMBER
    )
    confirm_destination = BooleanField(_l("Ask people to type their full address or number before a code is sent"))
    notify_user_on_reset = BooleanField(_l("Mail people a notice whenever their password is reset"))
    notify_admins_on_admin_reset = BooleanField(_l("Alert the global admins when an admin's password is reset"))
    register_prompt = BooleanField(
        _l("At sign-in, ask people who have registered no way to prove who they are to add one")
    )
    reconfirm_days = StringField(
        _l("Ask people to confirm their contact details every"),
        description=_l("Days, 0 to 730. 0 never asks."),
        render_kw=NUMBER,
    )
    helpdesk = StringField(
        _l("Helpdesk"),
        description=_l("A link, address or phone number shown to people who cannot reset their password themselves."),
    )
    password_min_length = StringField(
        _l("Minimum password length"), description=_l("Characters, 8 to 64."), render_kw=NUMBER
    )
    banned_words = TextAreaField(
        _l("Banned words"),
        description=_l(
            "Words a new password may not contain, in any case and also inside longer words: one a line. "
            "The list of common passwords is refused as well."
        ),
        render_kw={"rows": 5, "autocomplete": "off", "spellcheck": "false"},
    )
    password_expiry_days = StringField(
        _l("Passwords expire after"), description=_l("Days, 0 to 730. 0 means never."), render_kw=NUMBER
    )
    expiry_warning_days = StringField(
        _l("Warn at sign-in before a password expires"),
        description=_l("Days before, 0 to 60."),
        render_kw=NUMBER,
    )
    sms_countries = StringField(
        _l("Countries whose phone numbers may get text messages"),
        description=_l(
            "Two-letter codes separated by commas, for example DK, SE. Empty: only this deployment's "
            "own country. Limits the cost of SMS pumping."
        ),
        render_kw={"autocomplete": "off"},
    )
    codes_per_destination_per_hour = StringField(
        _l("Codes one address or number gets in an hour"),
        description=_l(
            "1 to 20, however many accounts name it. Stops anyone flooding someone's mailbox or phone with codes."
        ),
        render_kw=NUMBER,
    )
    sms_per_hour = StringField(
        _l("Text messages with codes in an hour, in all"),
        description=_l(
            "0 to 10000. Above it no text message goes out and the global admins are told, once an hour. "
            "0 stops them all."
        ),
        render_kw=NUMBER,
    )
    reminder_days = StringField(
        _l("Reminder mails before a password expires"),
        description=_l("Days before, separated by commas, for example 14, 7, 3, 1."),
        render_kw={"autocomplete": "off"},
    )
    # Sent by the confirm step, with the fingerprint of the policy its impact was counted against.
    confirm = HiddenField()
    basis = HiddenField()
    submit = SubmitField(_l("Save the policy"))

    @classmethod
    def showing(cls, texts: dict[str, str]) -> PolicyForm:
        """The form filled with these values (text as policy.parse takes it)."""
        form = cls(formdata=None)
        for key, text in texts.items():
            field: Field = form[key]
            if isinstance(field, BooleanField):
                field.data = text == "true"
            elif isinstance(field, SelectMultipleField):
                field.data = text.split(",")
            elif isinstance(field, TextAreaField):
                field.data = text.replace(",", "\n")
            else:
                field.data = text
        return form

    def texts(self) -> dict[str, str]:
        """Every key's posted value as text, for policy.parse."""
        texts = {}
        for key in policy.PARSERS:
            field: Field = self[key]
            if isinstance(field, BooleanField):
                texts[key] = "true" if field.data else "false"
            elif isinstance(field.data, list):
                texts[key] = ",".join(field.data)
            else:
                texts[key] = field.data or ""
        return texts

    def show_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each message by the field of its key (a message for no key goes above the form)."""
        for key, messages in errors.items():
            if key in self._fields:
                self[key].errors = [*self[key].errors, *messages]
            else:
                self.form_errors.extend(messages)

    def confirmed(self, basis: str) -> bool:
        """Posted from the confirm step, for the policy as it still is."""
        return bool(self.confirm.data == "yes" and self.basis.data == basis)


class AuditFilterForm(SsprForm):
    """The audit log's filters: a GET form, so a filtered list is a link to keep or share."""

    user = StringField(
        _l("User name"),
        description=_l("The whole user name, of the one who acted or the one it was done to."),
        validators=[Optional(), PlainText(150)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    event = SelectField(_l("Event"), choices=[], validate_choice=False)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()], description=_l("Dates in UTC. Both days count."))

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))

    def offer(self, events: list[str], everything: str) -> AuditFilterForm:
        self.event.choices = [SelectChoice("", everything), *(SelectChoice(e) for e in events)]
        return self

    def filters(self) -> Filters:
        return Filters(self.user.data or "", self.event.data or "", self.since.data, self.until.data)

    def query(self) -> dict[str, str]:
        """The filters in use, as query-string arguments (for paging and the CSV link)."""
        values = {"user": self.user.data, "event": self.event.data, "since": self.since.data, "until": self.until.data}
        return {name: str(value) for name, value in values.items() if value}


# How roles are named on the console's pages.
ROLE_LABELS = {"user": _l("User"), "password-admin": _l("Password admin"), "global-admin": _l("Global admin")}


class ResetForm(SsprForm):
    """One user's reset: a generated password or one typed twice, shown once to the
    admin or sent to the user as a one-time link."""

    mode = RadioField(
        _l("New password"),
        choices=[
            SelectChoice("generate", _l("Generate a strong temporary password")),
            SelectChoice("type", _l("Type a password")),
        ],
        default="generate",
    )
    password = PasswordField(
        _l("Password"), validators=[PlainText(PASSWORD_INPUT_MAX)], render_kw={"autocomplete": "new-password"}
    )
    confirm = PasswordField(
        _l("Password again"), validators=[PlainText(PASSWORD_INPUT_MAX)], render_kw={"autocomplete": "new-password"}
    )
    require_change = BooleanField(_l("Require a new password at next sign-in"), default=True)
    delivery = RadioField(
        _l("How the user gets it"),
        choices=[
            SelectChoice("show", _l("Show it to me once")),
            SelectChoice("link", _l("Mail a one-time link that shows it once")),
        ],
        default="show",
    )
    link_to = EmailField(
        _l("Send the link to"),
        validators=[Optional(), PlainText()],
        description=_l("Leave empty for the user's alternate e-mail address."),
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField(_l("Reset the password"))

    def validate_password(self, field: PasswordField) -> None:
        if self.mode.data == "type" and not field.data:
            raise ValidationError(_l("Type the new password, or choose a generated one."))

    def typed(self) -> str | None:
        """The password the admin typed, or None for a generated one."""
        return str(self.password.data) if self.mode.data == "type" else None


class BulkResetForm(SsprForm):
    require_change = BooleanField(_l("Require a new password at next sign-in"), default=True)
    delivery = RadioField(
        _l("How the users get their passwords"),
        choices=[
            SelectChoice("show", _l("Show them to me once, with a CSV file to download")),
            SelectChoice("link", _l("Mail each user a one-time link at their alternate e-mail address")),
        ],
        default="show",
    )
    submit = SubmitField(_l("Reset these passwords"))


class ForceChangeForm(SsprForm):
    submit = SubmitField(_l("Require a new password at next sign-in"))


class EndSessionsForm(SsprForm):
    submit = SubmitField(_l("Sign them out everywhere"))


class ContactsForm(SsprForm):
    display_name = StringField(_l("Display name"), validators=[PlainText(200)], render_kw={"autocomplete": "off"})
    alternate_email = EmailField(
        _l("Alternate e-mail address"),
        validators=[PlainText()],
        description=_l("Leave empty to remove it."),
        render_kw={"autocomplete": "off"},
    )
    phone = TelField(
        _l("Mobile phone"),
        validators=[PlainText(40)],
        description=_l("Leave empty to remove it."),
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField(_l("Save contact details"))


class RoleForm(SsprForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()])
    submit = SubmitField(_l("Change role"))


class AccountActionForm(SsprForm):
    """One click on an account (unlock, block, ...): the button's ``action`` says which."""

    action = HiddenField(validators=[InputRequired(), PlainText(30)])


class OutboxActionForm(SsprForm):
    """One click on an undelivered message: the button's ``action`` says which."""

    action = HiddenField(validators=[InputRequired(), AnyOf(("retry", "discard"))])
