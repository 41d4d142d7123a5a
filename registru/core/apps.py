from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "registru.core"
    label = "core"
