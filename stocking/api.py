"""Auth API: register, token, refresh, logout, me (docs/architecture.md §9, §11)."""

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from kernel.errors import ApplicationError, error_response
from kernel.text_fields import StrictCharField, StrictRegexField
from payments.selectors import premium_status
from stocking.services import token_logout, token_pair_issue, token_refresh, user_login_name, user_register

User = get_user_model()


class UserOutputSerializer(serializers.ModelSerializer):
    is_premium = serializers.SerializerMethodField(help_text="an active premium subscription (payments)")
    premium_until = serializers.SerializerMethodField(help_text="end of the paid premium period; null if not premium")

    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined", "is_staff", "is_premium", "premium_until"]

    def _premium(self, user):
        cached = getattr(self, "_premium_cache", None)
        if cached is None or cached[0] != user.pk:
            self._premium_cache = cached = (user.pk, premium_status(user=user))
        return cached[1]

    def get_is_premium(self, user) -> bool:
        return self._premium(user).is_premium

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_premium_until(self, user):
        until = self._premium(user).premium_until
        return None if until is None else serializers.DateTimeField().to_representation(until)


class RegisterApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        username = StrictRegexField(
            r"^[\w.@+-]+\Z", max_length=150, error_messages={"invalid": _("Letters, digits and @/./+/-/_ only.")}
        )
        password = StrictCharField(max_length=128, trim_whitespace=False)
        email = serializers.EmailField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["auth"],
        request=InputSerializer,
        responses={201: UserOutputSerializer},
        examples=[
            OpenApiExample(
                "Register",
                value={"username": "jiwoo", "password": "correct-horse-battery", "email": "jiwoo@example.com"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenPairOutputSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="lives 1 day; exchange it once at auth/token/refresh")
    access = serializers.CharField(help_text="lives 15 minutes; send as `Authorization: Bearer <access>`")


class TokenApi(APIView):
    """Exchange username and password for an access (15 min) and a refresh (1 day) token.

    The username is matched as registration compares it (case and width folded)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=300, trim_whitespace=False)
        password = serializers.CharField(max_length=4096, trim_whitespace=False)

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a wrong password answers 401 (with this header), not 403

    @extend_schema(
        tags=["auth"],
        request=InputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            401: error_response("`authentication_failed`: no active account with these credentials."),
            429: error_response("`throttled`, or `locked_out` after repeated failures; see `Retry-After`."),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = user_login_name(username=data.validated_data["username"])
        user = authenticate(request=request, username=username, password=data.validated_data["password"])
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            # authenticate() swallows axes' PermissionDenied; axes leaves its verdict on the request.
            if getattr(request, "axes_locked_out", False):
                # the lock runs from this failure (or lifts earlier if this was not one)
                cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
                raise AccountLockedOut(details={"retry_after_seconds": cool_off})
            raise AuthenticationFailed(_("No active account found with the given credentials"))
        # What a session login's user_logged_in does for axes: the failures so far are forgiven.
        AxesProxyHandler.user_logged_in(sender=type(self), request=request, user=user)
        refresh = token_pair_issue(user=user)
        return Response(TokenPairOutputSerializer({"refresh": str(refresh), "access": str(refresh.access_token)}).data)


class AccountLockedOut(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "locked_out"
    default_message = _("Too many failed logins; logging in to this account from here is locked for 15 minutes.")


class TokenRefreshApi(APIView):
    """Rotate: a new pair for the refresh token, which is used up. Exactly one of concurrent uses
    succeeds; using an already used refresh token logs its whole login out (all its descendants)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_refresh"

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField(max_length=4096)

    @extend_schema(
        tags=["auth"],
        request=InputSerializer,
        responses={
            200: TokenPairOutputSerializer,
            401: error_response("`token_not_valid`: the refresh token is invalid, expired or already used."),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = token_refresh(raw=data.validated_data["refresh"])
        return Response(TokenPairOutputSerializer({"refresh": str(refresh), "access": str(refresh.access_token)}).data)


class LogoutApi(APIView):
    """Blacklist the refresh token and end its login: no token descended from it refreshes again."""

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField(max_length=4096)

    @extend_schema(tags=["auth"], request=InputSerializer, responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token_logout(raw=data.validated_data["refresh"], user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(tags=["auth"], responses={200: UserOutputSerializer})
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)
