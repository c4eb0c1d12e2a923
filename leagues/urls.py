from django.urls import path

from leagues import views

urlpatterns = [
    path("leagues/", views.leagues_page, name="leagues"),
    path("leagues/new/", views.league_create_page, name="league-create"),
    path("leagues/join/", views.league_join_page, name="league-join-code"),
    path("leagues/join/<str:code>/", views.league_invite_page, name="league-invite"),
    path("leagues/<int:league_id>/", views.league_detail_page, name="league-detail"),
    path("leagues/<int:league_id>/join/", views.league_join, name="league-join"),
    path("leagues/<int:league_id>/leave/", views.league_leave, name="league-leave"),
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("profile/", views.profile_page, name="profile"),
]
