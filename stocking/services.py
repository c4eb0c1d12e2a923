"""Registration, login names and refresh-token families (docs/architecture.md §11)."""

import unicodedata
import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from kernel.errors import ApplicationError
from portfolio.services import account_open
from stocking.models import RefreshTokenFamily, UsernameKey

User = get_user_model()

FAMILY_CLAIM = "fam"  # refresh and access tokens: the login they descend from (RefreshTokenFamily.family)
USERNAME_MAX_LENGTH = 150
REUSED = _("This refresh token was already used; every session of its login is logged out.")


class RegistrationRejected(ApplicationError):
    code = "validation_error"
    default_message = _("The request has invalid fields; see details.")


class RefreshRejected(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_message = _("Refresh token is invalid or expired.")


def username_normalize(username: str) -> str:
    """The form a username is stored in: NFKC, so fullwidth `Ａlice` is `Alice`, without outer spaces."""
    return unicodedata.normalize("NFKC", username).strip()


def username_key(username: str) -> str:
    """What two usernames must differ in to both exist: NFKC and casefolded (`ALICE`, `alice`, `Ａlice`)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def _username_taken(username: str) -> bool:
    # The key table covers everyone registered here; iexact also covers users made elsewhere
    # (createsuperuser, the admin), for ASCII on SQLite and for everything under MariaDB's collation.
    return (
        UsernameKey.objects.filter(key=username_key(username)).exists()
        or User.objects.filter(username__iexact=username).exists()
    )


def user_register(*, username: str, password: str, email: str = "") -> AbstractUser:
    """Create a user, their username key and their paper account (opening DEPOSIT of STARTING_CASH)
    in one transaction.

    The username is stored NFKC-normalised; one that folds (username_key) like an existing one is
    taken, on every database: the unique UsernameKey.key decides races. Raises RegistrationRejected
    (400) for a taken or invalid username or a weak password; nothing is written then.
    """
    username = username_normalize(username)
    taken = RegistrationRejected(details={"username": [_("This username is already taken.")]})
    try:
        UnicodeUsernameValidator()(username)
    except DjangoValidationError as exc:
        raise RegistrationRejected(details={"username": list(exc.messages)}) from exc
    if not username or len(username) > USERNAME_MAX_LENGTH:
        raise RegistrationRejected(details={"username": [_("Use 1 to 150 characters.")]})
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise RegistrationRejected(details={"password": list(exc.messages)}) from exc
    if _username_taken(username):
        raise taken
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            UsernameKey.objects.create(user=user, key=username_key(username))
            account_open(user=user)
    except IntegrityError as exc:  # lost a race for the same (folded) username
        raise taken from exc
    return user


def user_login_name(*, username: str) -> str:
    """The stored username a login form's or the token API's input means: exact first, else the one
    that folds alike (`ALICE` logs in as `alice`). Unknown names come back normalised, to fail as usual."""
    username = username_normalize(username)
    if User.objects.filter(username=username).exists():
        return username
    stored = User.objects.filter(usernamekey__key=username_key(username)).values_list("username", flat=True).first()
    if stored is None:  # users without a key (made outside user_register)
        matches = list(User.objects.filter(username__iexact=username).values_list("username", flat=True)[:2])
        stored = matches[0] if len(matches) == 1 else None
    return stored or username


class _FamilyRefreshToken(RefreshToken):
    """A refresh token whose blacklist check is token_refresh's, which must tell reuse from logout."""

    def check_blacklist(self) -> None:
        pass


def _outstand(token: RefreshToken, user) -> None:
    OutstandingToken.objects.create(
        user=user,
        jti=token[jwt_settings.JTI_CLAIM],
        token=str(token),
        created_at=token.current_time,
        expires_at=datetime_from_epoch(token["exp"]),
    )


def _blacklist(jti: str) -> None:
    outstanding = OutstandingToken.objects.filter(jti=jti).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)


def token_pair_issue(*, user) -> RefreshToken:
    """A login: a refresh token heading a new family (RefreshTokenFamily row, outstanding token);
    its `.access_token` carries the family too."""
    refresh = RefreshToken()
    refresh[jwt_settings.USER_ID_CLAIM] = str(getattr(user, jwt_settings.USER_ID_FIELD))
    refresh[FAMILY_CLAIM] = uuid.uuid4().hex
    with transaction.atomic():
        RefreshTokenFamily.objects.create(
            family=refresh[FAMILY_CLAIM], user=user, current_jti=refresh[jwt_settings.JTI_CLAIM]
        )
        _outstand(refresh, user)
    return refresh


def token_refresh(*, raw: str) -> RefreshToken:
    """Exchange a refresh token for the next one of its family (the caller derives the access token).

    Compare-and-set on the family's current_jti: of any number of concurrent uses of one token
    exactly one wins, on every database. A token its family has already moved past was used twice,
    so a copy is in someone else's hands: the whole family is revoked (no descendant refreshes any
    more). Raises RefreshRejected (401); the loser of a race writes nothing but that revocation.
    """
    try:
        token = _FamilyRefreshToken(raw)  # type: ignore[arg-type]  # simplejwt decodes a str; its stubs say Token
    except TokenError as exc:
        raise RefreshRejected() from exc
    old_jti = token[jwt_settings.JTI_CLAIM]
    user = User.objects.filter(**{jwt_settings.USER_ID_FIELD: token.get(jwt_settings.USER_ID_CLAIM)}).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise RefreshRejected(_("No active account found for the given token."))
    family_id = token.get(FAMILY_CLAIM)
    if family_id is None:  # issued before families: it heads one now, unless it was rotated or logged out
        if BlacklistedToken.objects.filter(token__jti=old_jti).exists():
            if token_family_revoke(family_id=old_jti):  # it was rotated (its successor heads family old_jti)
                raise RefreshRejected(REUSED)
            raise RefreshRejected(_("Token is blacklisted."))
        family_id = old_jti
        try:
            with transaction.atomic():
                RefreshTokenFamily.objects.get_or_create(
                    family=family_id, defaults={"user": user, "current_jti": old_jti}
                )
        except IntegrityError:
            pass  # a concurrent use of the same token created it
    token[FAMILY_CLAIM] = family_id
    token.set_jti()
    token.set_exp()
    token.set_iat()
    with transaction.atomic():
        won = RefreshTokenFamily.objects.filter(
            family=family_id, user=user, current_jti=old_jti, revoked_at=None
        ).update(current_jti=token[jwt_settings.JTI_CLAIM])
        if won:
            _outstand(token, user)
            _blacklist(old_jti)
    if won:
        return token
    if token_family_revoke(family_id=family_id):
        raise RefreshRejected(REUSED)
    raise RefreshRejected(_("Token is blacklisted."))


def token_family_revoke(*, family_id: str) -> bool:
    """Revoke a login's family: no token of it refreshes again, its current refresh token is
    blacklisted. True if this call revoked it, False if it was revoked or unknown already."""
    with transaction.atomic():
        revoked = RefreshTokenFamily.objects.filter(family=family_id, revoked_at=None).update(revoked_at=timezone.now())
        current_jti = RefreshTokenFamily.objects.filter(family=family_id).values_list("current_jti", flat=True).first()
        if current_jti is not None:
            _blacklist(current_jti)
    return bool(revoked)


def token_logout(*, raw: str, user) -> None:
    """Log a login out: its refresh token is blacklisted and its family revoked.
    Raises RefreshRejected for an invalid, used-up or someone else's token."""
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt decodes a str; its stubs say Token
    except TokenError as exc:
        raise RefreshRejected() from exc
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise RefreshRejected(_("That refresh token belongs to someone else."))
    with transaction.atomic():
        token.blacklist()
        token_family_revoke(family_id=token.get(FAMILY_CLAIM) or token[jwt_settings.JTI_CLAIM])


def token_family_active(*, family_id: str) -> bool:
    """Whether a login's family still stands (not logged out, not revoked for reuse)."""
    return RefreshTokenFamily.objects.filter(family=family_id, revoked_at=None).exists()


def access_token_login_active(token) -> bool:
    """An access token's login (FAMILY_CLAIM) is not logged out or revoked; tokens without one pass."""
    family_id = token.get(FAMILY_CLAIM)
    return family_id is None or token_family_active(family_id=family_id)
