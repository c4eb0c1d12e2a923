"""Redis names shared by the relay and its clients (docs/architecture.md §7), kept from the original service."""

from marketdata.prices import REALTIME_KEY

__all__ = [
    "COMMANDS_CHANNEL",
    "COMMAND_RESULT_KEY",
    "COMMAND_RESULT_TTL_SECONDS",
    "HEALTH_KEY",
    "HEALTH_TTL_SECONDS",
    "LEADER_KEY",
    "REALTIME_KEY",
    "REALTIME_TTL_SECONDS",
    "STANDBY_HEALTH_KEY",
    "SUBSCRIPTIONS_KEY",
    "TICKS_CHANNEL",
]

REALTIME_TTL_SECONDS = 3600
# One message per relay batch: a JSON array of tick objects (each as stored under REALTIME_KEY).
TICKS_CHANNEL = "stock:ticks"
COMMANDS_CHANNEL = "toss_ws_relayer:commands"
COMMAND_RESULT_KEY = "toss_ws_relayer:command_result:{command_id}"
COMMAND_RESULT_TTL_SECONDS = 300
SUBSCRIPTIONS_KEY = "toss_ws_relayer:subscriptions"
HEALTH_KEY = "toss_ws_relayer:health"
HEALTH_TTL_SECONDS = 30
# The relay that holds this lock (kernel.leader) is the one connected to the feed; others stand by.
LEADER_KEY = "relay:leader"
STANDBY_HEALTH_KEY = "toss_ws_relayer:standby"  # a standby's own record: it never overwrites the leader's
