from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        from invoicing import rules, subscribers  # noqa: F401 - the permissions register on import

        subscribers.connect()
