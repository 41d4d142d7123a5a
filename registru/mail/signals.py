"""What the outbox tells the rest of Registru: a message reached its outcome (sent, failed,
held back by the gate). Campaigns listen to move their invitations along."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that records the outcome, with ``messages`` (a list: a group
# recorded together) and their common ``status``.
messages_finished = Signal()
