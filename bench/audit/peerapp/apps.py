from django.apps import AppConfig


class PeerAppConfig(AppConfig):
    name = "bench.audit.peerapp"
    label = "peerapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from bench.audit.peerapp.models import AuditlogPerson

        auditlog.register(AuditlogPerson)
