"""Who may see and shape the chain's messages.

- The message log (statuses, failures) and resending a message: the people who answer the patient
  when a message did not arrive — owners, branch managers, reception and billing — at the branches
  they see (tenants.org.selectors). Doctors work from the chart and the calendar, not the outbox.
- Patients' texts (the replies page) and answering one: the same people, for the same branches.
- The wording of messages and the messaging settings (reminder times, quiet hours, confirmations,
  channels, the Twilio Messaging Service): owners change them; branch managers read them, to answer
  their patients' questions about what was sent and when."""

from __future__ import annotations

from typing import Any

import rules

from notifications.models import InboundMessage, Message
from scheduling.rules import is_billing, is_receptionist
from tenants.org.rules import is_branch_manager, is_owner
from tenants.org.selectors import branch_ids_visible


@rules.predicate
def sees_message(user: Any, message: Message | None) -> bool:
    """The message's branch is one this user sees; a message of no branch (a patient's sign-in code,
    a card link) is seen by everyone who sees the log, as the patient's chart is; no object: any."""
    if message is None or message.branch_id is None:
        return True
    visible = branch_ids_visible(actor=user)
    return visible is None or message.branch_id in visible


@rules.predicate
def sees_text(user: Any, text: InboundMessage | None) -> bool:
    """A patient's text about an appointment at a branch this user sees; one about none belongs to the
    chain (as a message of no branch)."""
    if text is None or text.appointment is None:
        return True
    visible = branch_ids_visible(actor=user)
    return visible is None or text.appointment.branch_id in visible


message_staff = is_owner | is_branch_manager | is_receptionist | is_billing

rules.add_perm("notifications.view_message", message_staff & sees_message)
rules.add_perm("notifications.resend_message", message_staff & sees_message)
# Patients' texts are read and answered by whoever reads the message log (doctors neither).
rules.add_perm("notifications.answer_text", message_staff & sees_text)
rules.add_perm("notifications.view_templates", is_owner | is_branch_manager)
rules.add_perm("notifications.manage_templates", is_owner)
rules.add_perm("notifications.view_messaging_settings", is_owner | is_branch_manager)
rules.add_perm("notifications.manage_messaging_settings", is_owner)
