"""deploy/ stays in step with the Procfile and routes like docs/deploy.md says: the compose services run exactly
the Procfile's commands, nginx sends /ws/ (with the WebSocket upgrade) to ws and the rest to web."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# Services of the stack that are not Procfile processes: shared state, the proxy, the one-shot migration.
NOT_IN_PROCFILE = {"mariadb", "redis", "proxy", "migrate"}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def shell_command(service: dict) -> str:
    """The command a compose service runs, as its container's shell sees it (compose turns `$$` into `$`)."""
    command = service["command"]
    assert command[:2] == ["sh", "-c"], command
    script = command[2].replace("$$", "$")
    assert script.startswith("exec "), "exec: the process must be PID 1's child no more, so it gets SIGTERM"
    return script.removeprefix("exec ")


def test_every_procfile_process_is_a_compose_service_running_its_exact_command(compose):
    services = compose["services"]
    for name, command in procfile().items():
        assert name in services, f"the Procfile's {name} has no compose service"
        assert shell_command(services[name]) == command, f"compose's {name} drifted from the Procfile"


def test_the_stack_has_no_app_process_the_procfile_lacks(compose):
    assert set(compose["services"]) - set(procfile()) == NOT_IN_PROCFILE


def test_app_services_share_one_image_built_from_deploy_dockerfile_and_read_secrets_from_env_file(compose):
    images = set()
    for name in [*procfile(), "migrate"]:
        service = compose["services"][name]
        images.add(service["image"])
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["env_file"] == ".env"
        assert service["environment"]["NUM_PROXIES"] == "1"  # nginx is one proxy in front
    assert len(images) == 1
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|PASSWORD", key) and key != "MARIADB_RANDOM_ROOT_PASSWORD":  # a flag
                assert str(value).startswith("${"), f"{name}.{key}: secrets belong in deploy/.env, not compose.yaml"


def test_data_lives_on_named_volumes(compose):
    assert {"mariadb-data", "redis-data"} <= set(compose["volumes"])
    assert "mariadb-data:/var/lib/mysql" in compose["services"]["mariadb"]["volumes"]
    assert "redis-data:/data" in compose["services"]["redis"]["volumes"]


def _location(conf: str, prefix: str) -> str:
    match = re.search(rf"location {re.escape(prefix)} \{{(.*?)\n        \}}", conf, re.S)
    assert match, f"deploy/nginx.conf has no `location {prefix}`"
    return match[1]


def test_nginx_routes_ws_to_the_ws_upstream_with_the_upgrade_and_the_rest_to_web():
    conf = (DEPLOY / "nginx.conf").read_text()
    assert re.search(r"upstream stocking_ws \{\s*server ws:8001;", conf)
    assert re.search(r"upstream stocking_web \{\s*server web:8000;", conf)
    ws = _location(conf, "/ws/")
    assert "proxy_pass http://stocking_ws;" in ws
    assert "proxy_http_version 1.1;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    # daphne --proxy-headers reads the left-most X-Forwarded-For: nginx must replace it, not append to it
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in ws
    web = _location(conf, "/")
    assert "proxy_pass http://stocking_web;" in web
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in web
    for location in (ws, web):
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in location
        assert "proxy_set_header Host $host;" in location


def test_the_ws_process_takes_client_addresses_from_the_proxy():
    assert "--proxy-headers" in procfile()["ws"].split()


def test_dockerfile_installs_prod_requirements_collects_static_runs_as_non_root_with_a_healthcheck():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "pip install -r /tmp/requirements-prod.txt" in dockerfile
    assert "default-libmysqlclient-dev" in dockerfile
    assert "pkg-config" in dockerfile
    assert re.search(r"^USER stocking$", dockerfile, re.M)
    assert dockerfile.index("collectstatic") < dockerfile.index("USER stocking")
    assert "DJANGO_SETTINGS_MODULE=stocking.settings.production" in dockerfile
    assert re.search(r"^HEALTHCHECK .*deploy/healthcheck\.py", dockerfile, re.M)
    # The build-time key is set inside the collectstatic RUN only, never in an ENV that reaches containers.
    env_lines = " ".join(re.findall(r"^ENV .*(?:\\\n.*)*", dockerfile, re.M))
    assert "SECRET_KEY" not in env_lines
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert {".env", "deploy/.env", ".venv", ".git"} <= set(ignored)  # no secrets or local state in the image


def test_env_example_names_the_required_settings_without_values():
    example = (DEPLOY / ".env.example").read_text()
    values = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "MARIADB_PASSWORD"):
        assert values[name] == "", f"{name} must be filled in by the deployer, not shipped"
    assert values["PAYMENTS_ENABLED"] == "false"  # production.py refuses to start on neither keys nor this
