from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from kernel.errors import ApplicationError
from kernel.htmx import wants_fragment
from marketdata import views as market_views
from portfolio import analytics, charts
from portfolio.pages import open_account_required
from portfolio.selectors import account_get_open, portfolio_summary
from stocking.services import user_login_name, user_register
from trading.selectors import executions_list, orders_list


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False, label=_("Email (optional)"))

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_register(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
        except ApplicationError as exc:
            for field, errors in exc.details.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                gettext("Welcome, %(username)s! Your paper account holds %(cash)s won of virtual cash.")
                % {"username": user.username, "cash": f"{settings.STARTING_CASH:,.0f}"},
            )
            return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form})


class LoginForm(AuthenticationForm):
    def clean_username(self):
        # the stored name this input means, folded as registration compares (`ALICE` is `alice`)
        return user_login_name(username=self.cleaned_data["username"])


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, gettext("You are logged out."))
    return redirect("login")


@login_required
@open_account_required
def dashboard(request):
    account = account_get_open(user=request.user)
    summary = portfolio_summary(account=account)
    series = analytics.equity_series(account=account, period="ALL")
    context = {
        "summary": summary,
        "metrics": analytics.analytics_data(series),
        "day_pnl": charts.day_profit_loss(series),
        "by_stock": charts.allocation_by_stock(summary),
        "by_sector": charts.allocation_by_sector(summary),
        "working_orders": list(orders_list(account=account, status="WORKING")[:10]),
        "recent_fills": list(executions_list(account=account)[:10]),
        "periods": [(code, label) for code, label in charts.PERIOD_LABELS if code != "6M"],
    }
    if not wants_fragment(request):  # the account refresh swaps only the account cards
        context.update(
            index_cards=market_views.index_cards(),
            sparkline_from=market_views.sparkline_from(),
            movers_lists=market_views.movers_lists(),
        )
    return render(request, "dashboard.html", context)


def favicon(request):
    """Browsers ask for /favicon.ico on pages without a <link rel="icon"> (the admin's)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))  # resolved per request: hashed names in production
