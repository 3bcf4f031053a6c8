from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from tenants.accounts.middleware import session_stamp

        def stamp(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
            # Every sign-in (page, invitation, portal, tests' force_login) starts the session's clocks.
            if request is not None and hasattr(request, "session"):
                session_stamp(request)

        user_logged_in.connect(stamp, weak=False, dispatch_uid="accounts-session-clocks")
