from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "packages"

    def ready(self) -> None:
        from packages import rules, subscribers  # noqa: F401 - the permissions register on import

        subscribers.connect()
