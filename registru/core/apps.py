from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "registru.core"
    label = "core"

    def ready(self) -> None:
        # Registers the hooks that give every task its audit context, in every process
        # that may run tasks (a worker, or the web process in immediate mode).
        from registru.core import tasks  # noqa: F401
