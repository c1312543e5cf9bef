from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cx.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from cx.core.sqlite import sqlite_wal_once

        connection_created.connect(sqlite_wal_once, dispatch_uid="cx.core.sqlite_wal_once")
