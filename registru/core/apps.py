from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "registru.core"
    label = "core"

    def ready(self) -> None:
        from django.urls import register_converter

        from registru.core.converters import IdConverter

        register_converter(IdConverter, "id")  # used by every URL with a record id
        # Registers the hooks that give every task its audit context, in every process
        # that may run tasks (a worker, or the web process in immediate mode).
        from registru.core import tasks  # noqa: F401
