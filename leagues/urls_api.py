from django.urls import path

from leagues import api

urlpatterns = [
    path("leagues", api.LeaguesApi.as_view(), name="api-leagues"),
    path("leagues/<int:league_id>", api.LeagueDetailApi.as_view(), name="api-league"),
    path("leagues/<int:league_id>/join", api.LeagueJoinApi.as_view(), name="api-league-join"),
    path("leagues/<int:league_id>/leave", api.LeagueLeaveApi.as_view(), name="api-league-leave"),
    path("leagues/<int:league_id>/end", api.LeagueEndApi.as_view(), name="api-league-end"),
    path("leagues/<int:league_id>/standings", api.LeagueStandingsApi.as_view(), name="api-league-standings"),
    path("leaderboard", api.LeaderboardApi.as_view(), name="api-leaderboard"),
    path("profile", api.ProfileApi.as_view(), name="api-profile"),
]
