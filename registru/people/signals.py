"""What other apps hear about people, so that people need not know those apps."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside ``erase_person``'s transaction, before the person's data key is destroyed: apps
# holding copies of the person's data (the outbox, open invitations) remove or close them.
# Arguments: ``person``, ``actor``.
person_erased = Signal()
