"""Email-tool history of an address that is not a contact yet (docs/connect.md).

Events from SendGrid, Mailgun or Mandrill for an unknown address are kept under the
anonymous id ``email:<address>``; when a contact with that address is created or
gets it, they join the contact. A module of its own so that both the connectors
(:mod:`leadscore.service.connect`) and :mod:`leadscore.service.contacts` use it
without importing each other.
"""

from __future__ import annotations

from sqlalchemy import select

from leadscore.service import events as event_service
from leadscore.store import Store
from leadscore.store.tables import anonymous_visitors

EMAIL_VISITOR = "email:"  # anonymous id of an address that is not a contact yet


def email_visitor(email: str) -> str:
    return EMAIL_VISITOR + email.strip().lower()


def link_email_history(store: Store, contact_id: str, email: str | None) -> int:
    """Give the contact the email-tool events recorded for its address before it was a
    contact (kept under the anonymous id ``email:<address>``). Returns how many moved."""
    if not email:
        return 0
    visitor = email_visitor(email)
    with store.read() as conn:
        row = conn.execute(
            select(anonymous_visitors.c.contact_id).where(
                anonymous_visitors.c.anonymous_id == visitor
            )
        ).first()
    if row is None or row.contact_id not in (None, contact_id):
        return 0
    moved: int = event_service.identify(store, visitor, contact_id=contact_id)["events_linked"]
    return moved
