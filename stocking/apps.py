from django.apps import AppConfig


class StockingConfig(AppConfig):
    name = "stocking"
    verbose_name = "StocKing"

    def ready(self):
        from kernel.consumers import access_token_checks
        from stocking.services import access_token_login_active

        access_token_checks.append(access_token_login_active)  # a logged-out login's sockets close
