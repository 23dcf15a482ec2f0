"""The self-service policy page: the form, the confirm step for a stricter
policy, and the save (global admins, with a fresh password)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from sspr import clock, policy, sessions
from sspr.admin import policy_edit, policy_impact
from sspr.admin.forms import PolicyForm
from sspr.i18n import gettext as _


def edit() -> ResponseReturnValue:
    """Show the policy; a POST checks it, shows who a stricter policy leaves out
    and asks to confirm, then saves.  Nothing is stored until the values pass."""
    if request.method == "GET":
        return _form_page(PolicyForm.showing(policy_edit.as_text(policy.load())))
    form = PolicyForm()
    if not form.validate_on_submit():
        return _form_page(form), 400
    proposal = policy_edit.propose(form.texts())
    if proposal.errors:
        form.show_errors(proposal.errors)
        return _form_page(form), 400
    if not proposal.changes:
        return _form_page(form, notice=_("Nothing was changed: the policy already has these values."))
    basis = policy_edit.fingerprint(proposal.before)
    if policy_impact.narrows(proposal.before, proposal.after) and not form.confirmed(basis):
        return _confirm_page(form, proposal, basis)
    policy_edit.save(proposal, sessions.signed_in_user())
    flash(_("The policy is saved. It applies within a second."))
    return redirect(url_for("admin.policy"))


def _form_page(form: PolicyForm, notice: str | None = None) -> str:
    return render_template("admin/policy.html", form=form, notice=notice)


def _confirm_page(form: PolicyForm, proposal: policy_edit.Proposal, basis: str) -> str:
    """Who loses self-service by the change, what changes, and the values again to confirm with."""
    before, after = policy_edit.as_text(proposal.before), policy_edit.as_text(proposal.after)
    return render_template(
        "admin/policy_confirm.html",
        impact=policy_impact.losers(proposal.before, proposal.after, clock.now()),
        changes=[(form[key].label.text, before[key], after[key]) for key in proposal.changes],
        values=after,
        basis=basis,
        # Confirmed for a policy that has changed since: the impact was counted again.
        again=form.confirm.data == "yes",
    )
