"""Docker HEALTHCHECK for the one image: `python deploy/healthcheck.py web|ws|relay|matcher`; exit 0 when healthy.

web: Django answers a request below 500 (as the proxy would send it: first allowed host, HTTPS said by the proxy).
ws: daphne accepts a TCP connection. relay/matcher: Redis holds a live health record of that role, the active
process's or a standby's (records expire 30 s after their last write), so a hung or dead process turns unhealthy.
"""

import http.client
import os
import socket
import sys


def web() -> bool:
    host = (os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip() or "localhost").lstrip(".")
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=4)
    conn.request("GET", "/favicon.ico", headers={"Host": host, "X-Forwarded-Proto": "https"})
    return conn.getresponse().status < 500


def ws() -> bool:
    with socket.create_connection(("127.0.0.1", int(os.environ.get("WS_PORT", "8001"))), timeout=4):
        return True


def leader_role(role: str) -> bool:
    import django

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    django.setup()
    from kernel.redis import get_redis
    from marketdata.relay import keys as relay_keys
    from trading import matcher

    keys = {
        "relay": (relay_keys.HEALTH_KEY, relay_keys.STANDBY_HEALTH_KEY),
        "matcher": (matcher.HEALTH_KEY, matcher.STANDBY_HEALTH_KEY),
    }[role]
    return get_redis().exists(*keys) > 0


def main(role: str) -> int:
    checks = {"web": web, "ws": ws, "relay": lambda: leader_role("relay"), "matcher": lambda: leader_role("matcher")}
    try:
        return 0 if checks[role]() else 1
    except Exception as exc:  # any failure is "unhealthy", with the reason in `docker inspect`
        print(f"{role} unhealthy: {exc!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "web"))
