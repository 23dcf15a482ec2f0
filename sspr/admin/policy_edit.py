"""Changing the self-service policy from the console, the way `sspr policy set`
does it: every value through policy.parse, the result through policy.check,
and the change stored with its audit row in one transaction.

The console posts every key as text (as the command line takes it), so what
one refuses the other refuses too, with the same messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sspr import audit, policy
from sspr.extensions import db
from sspr.models import User


@dataclass(frozen=True)
class Proposal:
    """Values posted for the policy, checked against the policy in force."""

    before: policy.Policy
    after: policy.Policy
    # The keys whose value differs from the policy in force, with their new values.
    changes: dict[str, Any]
    # Messages per key ("" for one that names no key); empty when the values can be saved.
    errors: dict[str, list[str]]


def as_text(pol: policy.Policy) -> dict[str, str]:
    """Each key's value as `sspr policy set KEY=VALUE` takes it (policy.parse reads it back)."""
    texts = {}
    for key, value in pol.as_json().items():
        if isinstance(value, bool):
            texts[key] = "true" if value else "false"
        elif isinstance(value, list):
            texts[key] = ",".join(str(v) for v in value)
        else:
            texts[key] = str(value)
    return texts


def fingerprint(pol: policy.Policy) -> str:
    """A short digest of the whole policy.  The confirm step carries the one its
    impact was counted against: if the policy changed meanwhile, it asks again."""
    return hashlib.sha256(json.dumps(pol.as_json(), sort_keys=True).encode()).hexdigest()[:16]


def _sentence(reason: str) -> str:
    """policy's messages are written to follow "key: " on a command line; a page shows them alone."""
    return reason[:1].upper() + reason[1:]


def propose(texts: Mapping[str, str]) -> Proposal:
    """Parse and check posted values against the policy in force; nothing is stored."""
    before = policy.load()
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, text in texts.items():
        try:
            values[key] = policy.parse(key, text)
        except policy.PolicyError as exc:
            errors.setdefault(exc.key or "", []).append(_sentence(exc.reason))
    if errors:
        return Proposal(before, before, {}, errors)
    try:
        after = policy.check(replace(before, **values))
    except policy.PolicyError as exc:
        return Proposal(before, before, {}, {exc.key or "": [_sentence(exc.reason)]})
    changes = {key: value for key, value in values.items() if getattr(before, key) != value}
    return Proposal(before, after, changes, {})


def save(proposal: Proposal, actor: User) -> dict[str, dict[str, Any]]:
    """Store the changed keys and the audit row saying who changed what from what to what;
    the changes as written to the audit log."""
    before, after = policy.save(proposal.changes)
    old, new = before.as_json(), after.as_json()
    changed = {key: {"from": old[key], "to": new[key]} for key in proposal.changes}
    audit.record("policy.changed", actor=actor, via="console", changes=changed)
    db.session.commit()
    return changed
