"""The market-data relay: one feed connection for the whole deployment → Redis (docs/architecture.md §5, §5).

    python manage.py run_relay            # MARKETDATA_SOURCE = simulator | toss | replay:<file>

One relay per deployment is active: the one holding the Redis lock `relay:leader`
(kernel/leader.py). A second run_relay stands by without connecting to the feed,
writes only `toss_ws_relayer:standby` (and the health key while nobody leads), and
takes over once the lock lapses (within ~3 s of the active one dying), resubscribing
every topic in `toss_ws_relayer:subscriptions`.

Modules:
  base.py       the Source interface (connect / read → Batch / subscribe / unsubscribe / close)
  toss.py       Toss Securities' STOMP 1.2 feed over WebSocket (stomp_ws.py is the STOMP client)
  simulator.py  random walk on the KRX tick grid (marketdata/krx.py), seeded
  replay.py     JSONL of recorded tick bodies
  runner.py     the loop: reconnect with backoff, commands, health, one Redis pipeline per iteration
  sink.py       the Redis writer; keys.py the Redis names; commands.py the command channel

What readers get:
  stock:realtime:{code}  the latest tick of that stock: the feed's JSON object plus
                         "received_at" (relay's clock, ISO 8601 UTC), EX 3600
  stock:ticks            pub/sub; ONE message per relay batch: a JSON array of tick
                         objects (same shape as stock:realtime values), in feed order
  toss_ws_relayer:health JSON {state, source, pid, started_at, connected_since,
                         last_message_at, messages_total, malformed_total, reconnects,
                         connect_failures, subscriptions, updated_at}, EX 30, every
                         RELAY_HEALTH_INTERVAL_SECONDS and on every state change.
                         state: connecting | connected | reconnecting | stopping | stopped | finished,
                         or standby (only while no relay leads)
"""
