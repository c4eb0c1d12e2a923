from django.utils.functional import SimpleLazyObject


def account_stream(request):
    """The open account and the last event the page is rendered from, for account-events.js:
    events committed between this render and the socket's hello are then replayed, not lost.
    Lazy: only pages that show it (base.html) read the account row."""

    def read():
        from portfolio.models import Account  # the context processor loads before apps are ready

        if not request.user.is_authenticated:
            return None
        return Account.objects.filter(user=request.user, is_open=True).only("pk", "last_event_seq").first()

    return {"stream_account": SimpleLazyObject(read)}
