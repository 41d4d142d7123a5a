"""Questionnaires made through the services, for tests."""

from __future__ import annotations

from typing import Any

from registru.questionnaires import services
from registru.questionnaires.models import Questionnaire
from registru.testing.factories import SETUP

QUESTIONS = [
    {"kind": "choice", "label_ro": "Cât de des doriți să vă contactăm?", "label_en": "How often should we call?",
     "options": [{"ro": "Lunar", "en": "Monthly"}, {"ro": "Trimestrial", "en": "Quarterly"}], "required": True},
    {"kind": "text", "label_ro": "Altceva?", "label_en": "Anything else?", "required": False},
]  # fmt: skip


def make_questionnaire(
    *, actor: Any = SETUP, questions: list[dict[str, Any]] | None = None, **overrides: Any
) -> Questionnaire:
    values = {
        "name": "Actualizare date 2026", "fields": ["name", "emails", "phones", "job_title", "address", "consents"],
        "intro_ro": "Vă rugăm să verificați datele de mai jos.", "intro_en": "Please check the data below.",
        "subject_ro": "Datele dumneavoastră sunt corecte?", "body_ro": "Bună ziua, {name}! Verificați aici: {link}",
        "subject_en": "Is your data correct?", "body_en": "Hello {name}! Check here: {link}",
        "every_months": 12, "review": False, "reminders": 1, "reminder_days": 7, "valid_days": 30, "active": True,
    } | overrides  # fmt: skip
    return services.save_questionnaire(None, values, QUESTIONS if questions is None else questions, actor=actor)
