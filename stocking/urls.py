from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from marketdata import api as marketdata_api
from marketdata import views as marketdata_views
from stocking import api as auth_api
from stocking import views

api_v1 = [
    path("auth/register", auth_api.RegisterApi.as_view(), name="api-register"),
    path("auth/token", auth_api.TokenApi.as_view(), name="api-token"),
    path("auth/token/refresh", auth_api.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("auth/logout", auth_api.LogoutApi.as_view(), name="api-logout"),
    path("auth/me", auth_api.MeApi.as_view(), name="api-me"),
    path("stocks", marketdata_api.StockListApi.as_view(), name="api-stocks"),
    path("stocks/<str:code>", marketdata_api.StockDetailApi.as_view(), name="api-stock"),
    path("", include("portfolio.urls_api")),
    path("", include("marketdata.urls_api")),
    path("", include("trading.urls_api")),
    path("", include("payments.urls_api")),
    path("", include("leagues.urls_api")),
]

urlpatterns = [
    path("", views.home, name="home"),
    # browsers ask for /favicon.ico on pages without a <link rel="icon"> (the admin's)
    path("favicon.ico", views.favicon),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    # password reset by e-mail and change, Django's views with templates/registration/
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("market/", marketdata_views.market, name="market"),
    path("", include("marketdata.urls")),
    path("", include("portfolio.urls")),
    path("", include("trading.urls")),
    path("", include("payments.urls")),
    path("", include("leagues.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI under the CSP: the split view serves its setup as a script file (/docs?script) rather than inline;
    # its template's own <style> block needs inline styles, on this page only (replaced: a hash would void
    # 'unsafe-inline'; scripts stay 'self').
    path(
        "docs",
        csp_replace({"style-src": [SELF, UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    # the language switcher posts to i18n/setlang/; the JavaScript catalog is a script file, so it works under CSP
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]

handler404 = "kernel.errors.json_404"
handler500 = "kernel.errors.json_500"
