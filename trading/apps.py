from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self):
        # portfolio's hooks (portfolio never imports trading): working orders hold reservations,
        # and an account that closes cancels them first.
        from portfolio import hooks
        from trading import selectors, services

        hooks.reservation_sources.append(selectors.working_order_reservations)
        hooks.account_closing.append(services.orders_cancel_on_close)
