"""Which users a bulk action covers: the ones ticked, or everyone but the acting admin.

The acting admin is never in a selection, not even when ticked: nobody resets
their own password along with others (they would sign themselves out and lose
the one screen that shows the new passwords).  A password admin never reaches
a global admin: ticking one refuses the whole action; "all" leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from sspr.admin.access import may_manage
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import MAX_ID, User


class SelectionRefused(ValueError):
    """The selection cannot be acted on; str() says why, for people.  Nothing was changed."""


@dataclass(frozen=True)
class Selection:
    users: list[User]
    # "All users" was chosen, rather than users ticked one by one.
    everyone: bool
    # The acting admin was ticked and left out.
    left_out_self: bool
    # Global admins "all" left out because the actor is a password admin.
    left_out_admins: int


def resolve(actor: User, ids: list[int], everyone: bool) -> Selection:
    """The users an admin picked by id, or everyone (``everyone``), by user name; see the module's rules."""
    if everyone:
        return _everyone_but(actor)
    if not ids:
        raise SelectionRefused(_("Select at least one user."))
    wanted = {i for i in ids if 0 < i <= MAX_ID}
    chosen = list(db.session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.username_key)))
    forbidden = [u.username for u in chosen if not may_manage(actor, u)]
    if forbidden:
        raise SelectionRefused(
            _("Only a global admin may change global admins (%(names)s).", names=", ".join(forbidden))
        )
    others = [u for u in chosen if u.id != actor.id]
    if not others:
        raise SelectionRefused(_("Select at least one user other than yourself."))
    return Selection(others, everyone=False, left_out_self=len(others) < len(chosen), left_out_admins=0)


def _everyone_but(actor: User) -> Selection:
    query = select(User).where(User.id != actor.id)
    left_out = 0
    if actor.role != "global-admin":
        query = query.where(User.role != "global-admin")
        left_out = db.session.scalar(select(func.count()).where(User.role == "global-admin")) or 0
    found = list(db.session.scalars(query.order_by(User.username_key)))
    if not found:
        raise SelectionRefused(_("There are no other users to change."))
    return Selection(found, everyone=True, left_out_self=False, left_out_admins=left_out)
