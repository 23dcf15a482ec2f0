"""Reading the audit trail: filtered, newest first, a page at a time or all of
it as CSV.  Rows carry the actor's and subject's names, joined in from users
(a deleted user's rows stay, without a name)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import aliased

from sspr import contacts
from sspr.extensions import db
from sspr.models import AuditEvent, User

PAGE_SIZE = 50
# Names of the CSV columns: read by scripts, so fixed and not translated.
CSV_COLUMNS = ("time_utc", "event", "actor", "actor_name", "subject", "subject_name", "ip", "details")
# What a spreadsheet takes for the start of a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    user: str = ""
    event: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Entry:
    """One audit row as the page shows it."""

    at: datetime
    event: str
    actor: str | None
    actor_name: str | None
    subject: str | None
    subject_name: str | None
    ip: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    number: int
    pages: int
    total: int


def events() -> list[str]:
    """Every event name the log holds, for the filter's choices."""
    return list(db.session.scalars(select(AuditEvent.event).distinct().order_by(AuditEvent.event)))


def _select(filters: Filters) -> Select[*tuple[Any, ...]]:
    """The filtered rows, newest first, with both users' names."""
    actor, subject = aliased(User), aliased(User)
    query = (
        select(
            AuditEvent.at,
            AuditEvent.event,
            actor.username,
            actor.display_name,
            subject.username,
            subject.display_name,
            AuditEvent.ip,
            AuditEvent.details,
        )
        .outerjoin(actor, AuditEvent.actor_id == actor.id)
        .outerjoin(subject, AuditEvent.subject_id == subject.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    key = contacts.username_key(filters.user)
    if key:
        query = query.where(or_(actor.username_key == key, subject.username_key == key))
    if filters.event:
        query = query.where(AuditEvent.event == filters.event)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:  # the whole of the last day counts
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time.min, UTC))
    return query


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"details": text}
    return value if isinstance(value, dict) else {"details": value}


def _entry(row: Row[*tuple[Any, ...]]) -> Entry:
    at, event, actor, actor_name, subject, subject_name, ip, details = row
    return Entry(at, event, actor, actor_name, subject, subject_name, ip, _details(details))


def page(filters: Filters, number: int) -> Page:
    """One page of PAGE_SIZE rows; a number past either end shows the nearest page."""
    query = _select(filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(number, 1), pages)
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))
    return Page([_entry(row) for row in rows], number, pages, total)


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text by a leading quote."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _cells(row: Row[*tuple[Any, ...]]) -> list[str]:
    at, *rest = row
    return [neutralise(at.strftime("%Y-%m-%d %H:%M:%S"))] + [neutralise(v or "") for v in rest]


def csv_lines(filters: Filters) -> Iterator[str]:
    """The filtered rows as CSV text, in pieces of about 8 kB: a long log
    streams out without being held in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in db.session.execute(_select(filters).execution_options(yield_per=500)):
        writer.writerow(_cells(row))
        if buffer.tell() > 8192:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
