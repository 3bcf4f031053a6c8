from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from notifications import rules, subscribers  # noqa: F401 - the permissions register on import

        subscribers.connect()
