from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from kernel.errors import ApplicationError
from portfolio.services import account_open

User = get_user_model()


class RegistrationRejected(ApplicationError):
    code = "validation_error"
    default_message = "The request has invalid fields; see details."


def user_register(*, username: str, password: str, email: str = "") -> AbstractUser:
    """Create a user and their paper account (opening DEPOSIT of STARTING_CASH) in one transaction.

    Raises RegistrationRejected (400) for a taken username or a weak password;
    nothing is written then.
    """
    username = username.strip()
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise RegistrationRejected(details={"password": list(exc.messages)}) from exc
    if User.objects.filter(username__iexact=username).exists():
        raise RegistrationRejected(details={"username": ["This username is already taken."]})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            account_open(user=user)
    except IntegrityError as exc:  # lost a race for the same username
        raise RegistrationRejected(details={"username": ["This username is already taken."]}) from exc
    return user
