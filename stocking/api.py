"""Auth API: register, token, refresh, logout, me (DESIGN.md §9, §11)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from kernel.errors import ApplicationError
from payments.selectors import premium_status
from stocking.services import user_register

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
        username = serializers.RegexField(
            r"^[\w.@+-]+\Z", max_length=150, error_messages={"invalid": "Letters, digits and @/./+/-/_ only."}
        )
        password = serializers.CharField(max_length=128, trim_whitespace=False)
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


class TokenApi(TokenObtainPairView):
    """Exchange username and password for an access (15 min) and a refresh (1 day) token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # django.contrib.auth.authenticate() swallows axes' PermissionDenied;
            # axes leaves its verdict on the request it was given.
            if getattr(request, "axes_locked_out", False):
                # the lock runs from this failure (or lifts earlier if this was not one)
                cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
                raise AccountLockedOut(details={"retry_after_seconds": cool_off}) from None
            raise


class AccountLockedOut(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "locked_out"
    default_message = "Too many failed logins; logging in to this account from here is locked for 15 minutes."


class TokenRefreshApi(TokenRefreshView):
    """Rotate: the old refresh token is blacklisted and a new pair returned."""


class InvalidRefreshToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_message = "Refresh token is invalid or expired."


class LogoutApi(APIView):
    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField()

    @extend_schema(tags=["auth"], request=InputSerializer, responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = RefreshToken(data.validated_data["refresh"])
            if str(token["user_id"]) != str(request.user.pk):
                raise InvalidRefreshToken("That refresh token belongs to someone else.")
            token.blacklist()
        except TokenError as exc:
            raise InvalidRefreshToken() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(tags=["auth"], responses={200: UserOutputSerializer})
    def get(self, request):
        return Response(UserOutputSerializer(request.user).data)
