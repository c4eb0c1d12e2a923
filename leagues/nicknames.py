"""Public nicknames (docs/architecture.md §16): what the leaderboard and standings show instead of a username.

A nickname is 2–20 letters (Hangul included), digits, spaces, `_` or `-`; it may not be taken (compared folded),
look offensive, or look like anyone's username, so that a nickname never reveals who is behind it."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

MIN_LENGTH, MAX_LENGTH = 2, 20
ALLOWED = re.compile(r"^[\w\- ]+$")
# Characters a username may hold beside letters and digits (Django's UnicodeUsernameValidator), and ours.
SEPARATORS = re.compile(r"[\s._\-+@]")
# Word stems that read as abuse in Korean or English, matched inside the folded nickname (a short list: a public
# nickname is a courtesy, not a moderation system; staff rename in the admin).
OFFENSIVE = (
    "fuck", "shit", "bitch", "cunt", "nigg", "fag", "rape", "nazi", "hitler", "porn", "penis", "whore",
    "씨발", "시발", "ㅅㅂ", "병신", "ㅂㅅ", "좆", "개새", "새끼", "닥쳐", "미친놈", "미친년",
    "썅", "꺼져", "애미", "느금",
    "admin", "staff", "운영자", "관리자", "stocking",
)  # fmt: skip


# What standings call members without a nickname ("Member 3", "회원 3"): a nickname may not pose as one.
POSING_AS_MEMBER = re.compile(r"^(member|회원|anonymous|익명)\d*$")


def nickname_key(nickname: str) -> str:
    """The folded shape two nicknames (or a nickname and a username) are compared by: NFKC, casefolded, without
    spaces and separators."""
    return SEPARATORS.sub("", unicodedata.normalize("NFKC", nickname).casefold())


# Hangul fillers are letters to Unicode (\w matches them) but show nothing: a nickname of them is blank.
INVISIBLE = re.compile("[\u115f\u1160\u3164\uffa0]")


def nickname_problem(nickname: str):
    """Why this nickname cannot be used (a translatable message), or None. Does not check taken names."""
    if not nickname:
        return _("Enter a nickname.")
    if not MIN_LENGTH <= len(nickname) <= MAX_LENGTH:
        return _("A nickname has 2 to 20 characters.")
    if not ALLOWED.match(nickname) or INVISIBLE.search(nickname) or not nickname_key(nickname):
        return _("Use letters, digits, spaces, '_' or '-' only.")
    key = nickname_key(nickname)
    if any(word in key for word in OFFENSIVE) or POSING_AS_MEMBER.match(key):
        return _("Choose another nickname: this one could offend or mislead.")
    return None
