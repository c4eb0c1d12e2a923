"""Leagues API (docs/architecture.md §9, §14): leagues, joining and leaving, standings, the public leaderboard and the
public profile.

Nothing here shows a username or an e-mail: people appear under their public nickname (leagues.selectors.public_name).
Standings and the leaderboard are read from the rows `leagues.standings` computed; a standings page is also kept in
Django's cache until the next computation, so a read costs a fixed handful of indexed queries whatever the size.
"""

from django.core.cache import cache
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from kernel.errors import error_response
from kernel.fields import BodylessAction, StrictBooleanField, StrictDateField, StrictIntegerField, visible_text
from kernel.pagination import PagePagination
from kernel.text_fields import StrictCharField
from leagues import selectors, services
from leagues.models import League, Metric, Period, Visibility
from leagues.services import MAX_MEMBERS

TAGS = ["leagues"]
NOT_FOUND = error_response(
    "`league_not_found`: no such league, or another user's private league asked for without its join code."
)
# Safety nets: a computation, a change of members or of a profile changes the cache keys; a staff edit in the admin
# shows when these run out.
STANDINGS_CACHE_SECONDS = 300
LEADERBOARD_CACHE_SECONDS = 300


# --- leagues --------------------------------------------------------------------------------------------------------


class MyStandingOutputSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="null: no history in the league's days yet")
    return_pct = serializers.FloatField(allow_null=True, help_text="time-weighted return over the league's days, %")
    max_drawdown_pct = serializers.FloatField(allow_null=True, help_text="deepest fall from a peak, % (≤ 0)")
    sharpe_ratio = serializers.FloatField(allow_null=True)
    trades = serializers.IntegerField(help_text="BUY and SELL executions inside the league's days")
    days = serializers.IntegerField(help_text="trading days with a return")


class LeagueOutputSerializer(serializers.Serializer):
    """A league as the caller sees it; context: `today` (KST) and `my_standings` ({league id: the caller's line})."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    owner = serializers.SerializerMethodField(help_text="the owner's public nickname, never a username")
    starts_on = serializers.DateField(help_text="KST day")
    ends_on = serializers.DateField(help_text="KST day, included")
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    status = serializers.SerializerMethodField()
    max_members = serializers.IntegerField()
    member_count = serializers.IntegerField()
    is_member = serializers.BooleanField()
    join_code = serializers.SerializerMethodField(help_text="members only; null for everyone else")
    ends_at = serializers.SerializerMethodField(help_text="the instant it ends: the end of ends_on (KST) or ended_at")
    standings_computed_at = serializers.DateTimeField(allow_null=True)
    my_standing = serializers.SerializerMethodField(help_text="the caller's line in the standings; null when not in")

    def get_owner(self, league) -> str:
        return selectors.public_name(league.owner)

    @extend_schema_field(serializers.ChoiceField(choices=["upcoming", "running", "ended"]))
    def get_status(self, league) -> str:
        return selectors.league_status(league, self.context["today"])

    def get_join_code(self, league) -> str | None:
        return league.join_code if league.is_member else None

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_ends_at(self, league) -> str:
        return serializers.DateTimeField().to_representation(selectors.league_ends_at(league))

    @extend_schema_field(MyStandingOutputSerializer(allow_null=True))
    def get_my_standing(self, league) -> dict | None:
        standing = self.context["my_standings"].get(league.pk)
        return None if standing is None else MyStandingOutputSerializer(standing).data


def _league_response(request, league_id: int, *, join_code: str | None = None, status_code=status.HTTP_200_OK):
    league = selectors.league_get_for(user=request.user, league_id=league_id, join_code=join_code)
    mine = selectors.standings_of(user=request.user, league_ids=[league.pk] if league.is_member else [])
    context = {"today": selectors.today_kst(), "my_standings": mine}
    return Response(LeagueOutputSerializer(league, context=context).data, status=status_code)


class LeaguesApi(APIView):
    class FilterSerializer(serializers.Serializer):
        scope = serializers.ChoiceField(
            choices=["all", "mine", "public"],
            default="all",
            help_text="mine: the leagues I am in; public: public leagues not over; all: both",
        )

    class InputSerializer(serializers.Serializer):
        name = StrictCharField(max_length=60, validators=[visible_text])
        starts_on = StrictDateField(help_text="first KST day, today or later")
        ends_on = StrictDateField(help_text="last KST day, included; at most a year after starts_on")
        visibility = serializers.ChoiceField(
            choices=Visibility.choices, help_text="PRIVATE (joined with the code) is a premium feature"
        )
        max_members = StrictIntegerField(min_value=2, max_value=MAX_MEMBERS, default=50, required=False)

    @extend_schema(
        tags=TAGS,
        parameters=[FilterSerializer],
        responses={200: LeagueOutputSerializer(many=True)},
        description="Leagues, newest start first: mine and/or the public ones that have not ended.",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        today = selectors.today_kst()
        leagues = selectors.leagues_visible(user=request.user, scope=filters.validated_data["scope"], today=today)
        paginator = PagePagination()
        page = paginator.paginate_queryset(leagues, request, view=self)
        mine = selectors.standings_of(user=request.user, league_ids=[league.pk for league in page if league.is_member])
        context = {"today": today, "my_standings": mine}
        return paginator.get_paginated_response(LeagueOutputSerializer(page, many=True, context=context).data)

    @extend_schema(
        tags=TAGS,
        request=InputSerializer,
        responses={
            201: LeagueOutputSerializer,
            400: error_response(
                "`validation_error`: a bad field, a start in the past, an end before the start, over a year."
            ),
            403: error_response(
                "`premium_required`: a private league, or a second running public league, on a free account; "
                "or `permission_denied` (CSRF)."
            ),
        },
        description="Create a league; its owner joins it at once. The answer carries the join code.",
        examples=[
            OpenApiExample(
                "A class league",
                value={"name": "3학년 2반", "starts_on": "2026-12-01", "ends_on": "2026-12-31", "visibility": "PUBLIC"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        league = services.league_create(owner=request.user, **data.validated_data)
        return _league_response(request, league.pk, status_code=status.HTTP_201_CREATED)


class LeagueDetailApi(APIView):
    class FilterSerializer(serializers.Serializer):
        join_code = StrictCharField(
            required=False, max_length=32, help_text="lets a non-member see a private league (an invitation link)"
        )

    @extend_schema(tags=TAGS, parameters=[FilterSerializer], responses={200: LeagueOutputSerializer, 404: NOT_FOUND})
    def get(self, request, league_id: int):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return _league_response(request, league_id, join_code=filters.validated_data.get("join_code"))


class LeagueJoinApi(APIView):
    class InputSerializer(serializers.Serializer):
        join_code = StrictCharField(
            required=False, allow_blank=True, max_length=32, help_text="needed for a private league"
        )

    @extend_schema(
        tags=TAGS,
        request=InputSerializer,
        responses={
            200: LeagueOutputSerializer,
            404: error_response("`league_not_found`: no such league, or a private league with a wrong code."),
            409: error_response(
                "`already_member`; `league_ended`: it is over and its code expired; `league_full`: no place left."
            ),
        },
        examples=[OpenApiExample("With a code", value={"join_code": "K7M2Q9XH"}, request_only=True)],
    )
    def post(self, request, league_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        join_code = data.validated_data.get("join_code") or None
        services.league_join(user=request.user, league_id=league_id, join_code=join_code)
        return _league_response(request, league_id)


class LeagueLeaveApi(BodylessAction, APIView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={
            204: None,
            404: NOT_FOUND,
            409: error_response("`not_member`: you are not in it; `league_ended`: its standings are final."),
        },
        description="Leave a league that has not ended.",
    )
    def post(self, request, league_id: int):
        services.league_leave(user=request.user, league_id=league_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeagueEndApi(BodylessAction, APIView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={
            200: LeagueOutputSerializer,
            404: error_response("`league_not_found`: no such league, or it is not yours to end."),
            409: error_response("`league_ended`: it is over already."),
        },
        description="The owner ends the league now; its standings are computed once more and then final.",
    )
    def post(self, request, league_id: int):
        services.league_end(league_id=league_id, by=request.user)
        return _league_response(request, league_id)


# --- standings ------------------------------------------------------------------------------------------------------


class StandingOutputSerializer(serializers.Serializer):
    rank = serializers.IntegerField(
        allow_null=True, help_text="null: no history in the league's days yet (listed last)"
    )
    name = serializers.CharField(help_text="the member's public nickname, or “Member N”; never a username")
    return_pct = serializers.FloatField(allow_null=True, help_text="time-weighted return over the league's days, %")
    max_drawdown_pct = serializers.FloatField(allow_null=True, help_text="deepest fall from a peak, % (≤ 0)")
    sharpe_ratio = serializers.FloatField(allow_null=True)
    trades = serializers.IntegerField(help_text="BUY and SELL executions inside the league's days")
    days = serializers.IntegerField(help_text="trading days with a return")
    is_me = serializers.BooleanField()


def _standing_line(standing, *, is_me: bool) -> dict:
    line = {
        "rank": standing.rank,
        "name": selectors.public_name(standing.user, fallback_number=standing.member_number),
        "return_pct": standing.return_pct,
        "max_drawdown_pct": standing.max_drawdown_pct,
        "sharpe_ratio": standing.sharpe_ratio,
        "trades": standing.trades,
        "days": standing.days,
        "is_me": is_me,
    }
    return dict(StandingOutputSerializer(line).data)


def _page_links(request, paginator: PagePagination, page: dict) -> tuple[str | None, str | None]:
    """The next and previous links of a cached page, as PagePagination writes them."""
    url, param, number = request.build_absolute_uri(), paginator.page_query_param, page["number"]
    next_link = replace_query_param(url, param, number + 1) if number < page["num_pages"] else None
    if number == 1:
        return next_link, None
    return next_link, remove_query_param(url, param) if number == 2 else replace_query_param(url, param, number - 1)


class StandingsPagination(PagePagination):
    """The page envelope with the time of the computation and the caller's own line beside it."""

    def get_paginated_response_schema(self, schema):
        envelope = super().get_paginated_response_schema(schema)
        envelope["required"] = [*envelope["required"], "computed_at", "me"]
        envelope["properties"]["computed_at"] = {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "When these standings were computed; null before the first computation.",
        }
        envelope["properties"]["me"] = {
            "allOf": [{"$ref": "#/components/schemas/StandingOutput"}],
            "nullable": True,
            "description": "The caller's own line; null when not a member.",
        }
        return envelope


class LeagueStandingsApi(APIView):
    pagination_class = StandingsPagination

    class FilterSerializer(serializers.Serializer):
        join_code = StrictCharField(required=False, max_length=32, help_text="lets a non-member see a private league")

    @extend_schema(
        tags=TAGS,
        parameters=[FilterSerializer],
        responses={200: StandingOutputSerializer(many=True), 404: NOT_FOUND},
        description="The league's standings as last computed (after the daily snapshot, and through the day while "
        "it runs): by time-weighted return, ties by the shallower drawdown; members without history yet last.",
    )
    def get(self, request, league_id: int):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        league = selectors.league_get_for(
            user=request.user, league_id=league_id, join_code=filters.validated_data.get("join_code")
        )
        is_member = league.is_member  # type: ignore[attr-defined]
        paginator = self.pagination_class()
        paginator.check_params(request)
        # Kept until the standings are computed again, a member joins or leaves, or a nickname changes; and in the
        # request's language ("Member N").
        version = f"leagues:standings:{league.pk}:{selectors.standings_version(league=league)}:{get_language()}"
        page_key = f"{version}:{request.query_params.get(paginator.page_query_param) or 1}"
        page_key += f":{paginator.get_page_size(request)}"
        me_key = f"{version}:me:{request.user.pk}"
        cached = cache.get_many([page_key, me_key] if is_member else [page_key])
        fresh = {}
        if page_key not in cached:
            fresh[page_key] = self._page(request, league, paginator)
        if is_member and me_key not in cached:
            fresh[me_key] = self._me(league, request.user)
        if fresh:
            cache.set_many(fresh, STANDINGS_CACHE_SECONDS)
        page, me = (cached | fresh)[page_key], (cached | fresh).get(me_key)

        next_link, previous = _page_links(request, paginator, page)
        computed_at = league.standings_computed_at
        return Response(
            {
                "count": page["count"],
                "next": next_link,
                "previous": previous,
                "results": [{**line, "is_me": user_id == request.user.pk} for user_id, line in page["lines"]],
                "computed_at": serializers.DateTimeField().to_representation(computed_at) if computed_at else None,
                "me": me,
            }
        )

    def _page(self, request, league: League, paginator: StandingsPagination) -> dict:
        """One page as (user id, line) pairs: the user id stays on the server, compared with the caller's for
        `is_me`. Raises NotFound past the last page."""
        standings = selectors.standings_page(league=league)
        lines = paginator.paginate_queryset(standings, request, view=self)
        return {
            "count": paginator.page.paginator.count,
            "num_pages": paginator.page.paginator.num_pages,
            "number": paginator.page.number,
            "lines": [(s.user_id, _standing_line(s, is_me=False)) for s in lines],
        }

    def _me(self, league: League, user) -> dict | None:
        standing = selectors.standing_of(league=league, user=user)
        return None if standing is None else _standing_line(standing, is_me=True)


# --- the public leaderboard -----------------------------------------------------------------------------------------


class LeaderboardEntryOutputSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="by the metric asked for; equal values share a rank")
    nickname = serializers.CharField(help_text="the public nickname the user chose")
    return_pct = serializers.FloatField(help_text="time-weighted return over the period, %")
    sharpe_ratio = serializers.FloatField(allow_null=True)
    max_drawdown_pct = serializers.FloatField(allow_null=True, help_text="deepest fall from a peak, % (≤ 0)")
    days = serializers.IntegerField(help_text="trading days with a return in the period")


class LeaderboardPagination(PagePagination):
    def get_paginated_response_schema(self, schema):
        envelope = super().get_paginated_response_schema(schema)
        envelope["required"] = [*envelope["required"], "period", "metric", "as_of", "computed_at"]
        envelope["properties"].update(
            {
                # No enum here: portfolio's `period` is another choice set, and drf-spectacular names a shared field
                # name's enums apart only when each is in one component.
                "period": {"type": "string", "description": "week, month or all, as asked."},
                "metric": {"type": "string", "enum": list(Metric.values)},
                "as_of": {
                    "type": "string",
                    "format": "date",
                    "nullable": True,
                    "description": "The last snapshot day counted; null before the first computation.",
                },
                "computed_at": {"type": "string", "format": "date-time", "nullable": True},
            }
        )
        return envelope


class LeaderboardApi(APIView):
    permission_classes = [permissions.AllowAny]
    pagination_class = LeaderboardPagination

    class FilterSerializer(serializers.Serializer):
        period = serializers.ChoiceField(choices=Period.choices, default=Period.ALL)
        metric = serializers.ChoiceField(
            choices=Metric.choices,
            default=Metric.RETURN,
            help_text="sharpe: only users with at least 5 trading days of history in the period",
        )

    @extend_schema(
        tags=TAGS,
        parameters=[FilterSerializer],
        responses={200: LeaderboardEntryOutputSerializer(many=True)},
        description="The public leaderboard: users who opted in, under their nickname, as last computed after the "
        "daily snapshot. Open to everyone.",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        period, metric = filters.validated_data["period"], filters.validated_data["metric"]
        paginator = self.pagination_class()
        paginator.check_params(request)
        computed = selectors.leaderboard_computed(period=period)
        # Kept until the next computation or a nickname or opt-in changes: counting 100,000 opted-in users is the
        # slow part of a page, and the answer is the same for everyone.
        key = f"leagues:leaderboard:{selectors.leaderboard_version(computed=computed)}:{period}:{metric}"
        key += f":{request.query_params.get(paginator.page_query_param) or 1}:{paginator.get_page_size(request)}"
        page = cache.get(key)
        if page is None:
            page = self._page(request, paginator, period, metric)
            cache.set(key, page, LEADERBOARD_CACHE_SECONDS)
        next_link, previous = _page_links(request, paginator, page)
        return Response(
            {
                "count": page["count"],
                "next": next_link,
                "previous": previous,
                "results": page["lines"],
                "period": period,
                "metric": metric,
                "as_of": serializers.DateField().to_representation(computed.as_of) if computed else None,
                "computed_at": serializers.DateTimeField().to_representation(computed.computed_at)
                if computed
                else None,
            }
        )

    def _page(self, request, paginator: LeaderboardPagination, period: str, metric: str) -> dict:
        entries = paginator.paginate_queryset(selectors.leaderboard(period=period, metric=metric), request, view=self)
        rank_field = "rank_by_sharpe" if metric == Metric.SHARPE else "rank_by_return"
        lines = [
            {
                "rank": getattr(entry, rank_field),
                "nickname": selectors.public_name(entry.user),
                "return_pct": entry.return_pct,
                "sharpe_ratio": entry.sharpe_ratio,
                "max_drawdown_pct": entry.max_drawdown_pct,
                "days": entry.days,
            }
            for entry in entries
        ]
        return {
            "count": paginator.page.paginator.count,
            "num_pages": paginator.page.paginator.num_pages,
            "number": paginator.page.number,
            "lines": [dict(line) for line in LeaderboardEntryOutputSerializer(lines, many=True).data],
        }


# --- the public profile ---------------------------------------------------------------------------------------------


class ProfileOutputSerializer(serializers.Serializer):
    nickname = serializers.CharField(allow_null=True, help_text="shown on standings and the leaderboard")
    leaderboard_opt_in = serializers.BooleanField(help_text="listed on the public leaderboard under the nickname")


class ProfileApi(APIView):
    class InputSerializer(serializers.Serializer):
        nickname = StrictCharField(
            required=False,
            allow_blank=True,
            max_length=100,
            help_text="2–20 letters, digits, spaces, '_' or '-'; not taken, offensive or shaped like a username",
        )
        leaderboard_opt_in = StrictBooleanField(required=False, help_text="needs a nickname")

    @extend_schema(tags=TAGS, responses={200: ProfileOutputSerializer})
    def get(self, request):
        return Response(ProfileOutputSerializer(selectors.profile_of(user=request.user)).data)

    @extend_schema(
        tags=TAGS,
        request=InputSerializer,
        responses={
            200: ProfileOutputSerializer,
            400: error_response(
                "`validation_error`: a nickname empty, malformed, offensive-looking or shaped like a username, or "
                "opting in without a nickname."
            ),
            409: error_response("`nickname_taken`: someone else has that nickname."),
        },
        examples=[
            OpenApiExample("Opt in", value={"nickname": "주식왕", "leaderboard_opt_in": True}, request_only=True)
        ],
    )
    def patch(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = services.profile_update(user=request.user, **data.validated_data)
        return Response(ProfileOutputSerializer(profile).data)
