"""The container and Kubernetes files, checked statically (no Docker or cluster here).

The Dockerfile must run a console script the package installs, as a user
that is not root, keep the server's default data folder on a volume and
probe ``/healthz`` on the server's default port; the manifests must parse
and agree with the server's defaults and with each other.
"""

from __future__ import annotations

import json
import shlex
from importlib.metadata import distribution
from pathlib import Path

import pytest
import yaml

from ngshare.config import NgShare

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "deploy" / "kubernetes"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    steps = [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, (word, *_) in enumerate(steps) if word.upper() == "FROM")
    return [(word.upper(), rest[0] if rest else "") for word, *rest in steps[last_from:]]


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile_instructions() if word == name]


@pytest.fixture
def defaults(monkeypatch) -> NgShare:
    """The production server's settings with nothing configured."""
    for name in ("JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    return NgShare()


def test_the_image_runs_as_a_numeric_non_root_user():
    users = instruction("USER")
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit()
    assert instruction("RUN")[0].startswith("useradd") and f"--uid {user}" in instruction("RUN")[0]


def test_the_entry_point_is_an_installed_console_script():
    entry_points = distribution("ngshare").entry_points
    scripts = {e.name: e.value for e in entry_points if e.group == "console_scripts"}
    (entry,) = instruction("ENTRYPOINT")
    command = json.loads(entry)
    assert command[0] in scripts and scripts[command[0]] == "ngshare.cli:main"


def test_the_volume_port_and_healthcheck_match_the_servers_defaults(defaults, monkeypatch):
    assert [v.split() for v in instruction("VOLUME")] == [[defaults.data_dir]]
    env = dict(shlex.split(e)[0].split("=", 1) for e in instruction("ENV"))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", env["JUPYTERHUB_SERVICE_URL"])
    in_image = NgShare()
    assert (in_image.host, in_image.port) == ("0.0.0.0", defaults.port)
    assert instruction("EXPOSE") == [str(defaults.port)]
    (check,) = instruction("HEALTHCHECK")
    assert f"http://127.0.0.1:{defaults.port}/healthz" in check


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "vngshare-data"} <= set(ignored)
    # the build needs these
    assert not {"pyproject.toml", "setup.py", "ngshare", "plugins", "alembic"} & set(ignored)


def manifests() -> dict[str, dict]:
    docs = list(yaml.safe_load_all((KUBE / "ngshare.yaml").read_text()))
    return {d["kind"]: d for d in docs}


def test_the_manifests_parse_and_agree_with_the_server(defaults):
    kinds = manifests()
    assert set(kinds) == {"Secret", "PersistentVolumeClaim", "Deployment", "Service"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"][0]["containerPort"] == defaults.port
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(instruction("USER")[-1].split(":")[0])
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == defaults.data_dir
    (volume,) = pod["volumes"]
    assert (
        volume["persistentVolumeClaim"]["claimName"]
        == kinds["PersistentVolumeClaim"]["metadata"]["name"]
    )
    env = {e["name"]: e for e in container["env"]}
    prefix = env["JUPYTERHUB_SERVICE_PREFIX"]["value"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == prefix + "healthz"
    token = env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["name"] == kinds["Secret"]["metadata"]["name"]
    assert token["key"] in kinds["Secret"]["stringData"]
    service = kinds["Service"]
    assert (
        service["spec"]["selector"].items()
        <= kinds["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    )
    assert service["spec"]["ports"][0]["port"] == defaults.port


def test_the_z2jh_values_point_the_hub_at_the_service():
    values = yaml.safe_load((KUBE / "z2jh-values.yaml").read_text())
    kinds = manifests()
    service = values["hub"]["services"]["ngshare"]
    name, port = kinds["Service"]["metadata"]["name"], kinds["Service"]["spec"]["ports"][0]["port"]
    assert service["url"] == f"http://{name}:{port}"
    assert service["apiToken"] == kinds["Secret"]["stringData"]["api-token"]
    # the hub routes /services/<name>/: the prefix ngshare is given
    pod_env = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    prefix = next(e["value"] for e in pod_env if e["name"] == "JUPYTERHUB_SERVICE_PREFIX")
    assert prefix == "/services/ngshare/"
    assert values["singleuser"]["extraEnv"]["NGSHARE_URL"].endswith(prefix)


def test_the_deployment_page_shows_the_files_as_they_are():
    """docs/deployment.md quotes the manifests: the quoted copies must be the files."""
    page = (ROOT / "docs" / "deployment.md").read_text()
    for name in ("ngshare.yaml", "z2jh-values.yaml"):
        assert (KUBE / name).read_text().strip() in page, name
    assert "not run here" in page.lower()


# --- several replicas: deploy/docker-compose.yml, deploy/nginx.conf, ngshare-replicas.yaml ---

DEPLOY = ROOT / "deploy"
#: Settings the replica files use that come from work done alongside this one
#: (S3 storage, shared secrets, live channels across replicas). Each must be a
#: setting of the server once that work is in; until then it may be missing.
PARALLEL_SETTINGS = {
    "NgShare.storage_backend",
    "NgShare.secrets_in_database",
    "EventBus.backend",
}


def known_settings() -> set[str]:
    """``Class.trait`` of every configurable setting of the server and the bundled plugins."""
    from ngshare.cli import configurable_classes
    from ngshare.config_reference import with_parents

    return {
        f"{cls.__name__}.{name}"
        for cls in with_parents(configurable_classes(bundled_only=True))
        for name in cls.class_trait_names(config=True)
    }


def setting_names(args: list[str]) -> list[str]:
    return [a[2:].split("=", 1)[0] for a in args if a.startswith("--") and "." in a.split("=")[0]]


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def replica_services(doc: dict) -> dict[str, dict]:
    return {name: s for name, s in doc["services"].items() if name.startswith("ngshare")}


def test_compose_runs_three_replicas_on_postgresql_and_minio(defaults):
    doc = compose()
    replicas = replica_services(doc)
    assert len(replicas) == 3
    commands = [s["command"] for s in replicas.values()]
    assert all(c == commands[0] for c in commands), "every replica gets the same settings"
    args = dict(a[2:].split("=", 1) for a in commands[0] if a.startswith("--"))
    # the database URL names the postgres service's user, password and database
    pg = doc["services"]["postgres"]["environment"]
    url = args["NgShare.db_url"]
    assert url.startswith("postgresql+psycopg://")
    assert f"://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/" in url
    assert url.endswith("/" + pg["POSTGRES_DB"])
    assert args["NgShare.storage_backend"] == "s3"
    # the bucket the replicas use is the one minio-bucket creates, on the minio service
    env = next(iter(replicas.values()))["environment"]
    bucket_cmd = " ".join(doc["services"]["minio-bucket"]["command"])
    assert f"local/{env['NGSHARE_S3_BUCKET']}" in bucket_cmd
    assert env["AWS_ENDPOINT_URL_S3"] == "http://minio:9000"
    minio = doc["services"]["minio"]["environment"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )
    # each replica listens on the image's port; migrations run once, before them
    assert env["JUPYTERHUB_SERVICE_URL"] == f"http://0.0.0.0:{defaults.port}"
    for service in replicas.values():
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    migrate = doc["services"]["migrate"]["command"]
    assert migrate[:2] == ["db", "upgrade"] and f"--NgShare.db_url={url}" in migrate


def test_compose_and_kubernetes_settings_are_the_servers():
    known = known_settings()
    kube = {d["kind"]: d for d in yaml.safe_load_all((KUBE / "ngshare-replicas.yaml").read_text())}
    (container,) = kube["Deployment"]["spec"]["template"]["spec"]["containers"]
    used = setting_names(next(iter(replica_services(compose()).values()))["command"])
    used += setting_names(container["args"])
    unknown = {name for name in used if name not in known}
    assert unknown <= PARALLEL_SETTINGS, unknown


def nginx_conf() -> str:
    return (DEPLOY / "nginx.conf").read_text()


def test_nginx_balances_over_every_replica(defaults):
    import re

    conf = nginx_conf()
    upstream = re.search(r"upstream ngshare \{(.*?)\}", conf, re.S).group(1)
    servers = re.findall(r"server\s+([\w.-]+):(\d+)", upstream)
    assert sorted(servers) == sorted(
        (name, str(defaults.port)) for name in replica_services(compose())
    )
    listen = re.search(r"listen\s+(\d+);", conf).group(1)
    balancer = compose()["services"]["balancer"]
    assert balancer["ports"] == [f"{listen}:{listen}"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in balancer["volumes"]
    # uploads and downloads are streamed; ngshare, not nginx, refuses oversized bodies
    for directive in (
        "client_max_body_size 0;",
        "proxy_request_buffering off;",
        "proxy_buffering off;",
        "proxy_http_version 1.1;",
        "keepalive",
    ):
        assert directive in conf, directive
    # a POST already sent is never sent to a second replica
    assert "non_idempotent" not in conf


def test_kubernetes_replicas_read_their_settings_from_secrets(defaults):
    kinds = {d["kind"]: d for d in yaml.safe_load_all((KUBE / "ngshare-replicas.yaml").read_text())}
    deployment = kinds.pop("Deployment")
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"][0]["containerPort"] == defaults.port
    assert "persistentVolumeClaim" not in str(pod["volumes"]), "replicas share no volume"
    secrets = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((KUBE / "ngshare-replicas.yaml").read_text())
        if d["kind"] == "Secret"
    }
    env = {e["name"]: e for e in container["env"]}
    for e in env.values():
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in secrets[ref["name"]]["stringData"], e["name"]
    # $(VAR) in the arguments names a variable the container has
    import re

    for arg in container["args"]:
        for var in re.findall(r"\$\((\w+)\)", arg):
            assert var in env, var
    assert env["NGSHARE_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "ngshare-database"
    assert secrets["ngshare-database"]["stringData"]["url"].startswith("postgresql+psycopg://")
    # the z2jh values (shared with the one-replica files) reach this Service
    values = yaml.safe_load((KUBE / "z2jh-values.yaml").read_text())
    service = kinds["Service"]
    url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    assert values["hub"]["services"]["ngshare"]["url"] == url
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    hub_token = env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert (
        values["hub"]["services"]["ngshare"]["apiToken"]
        == secrets[hub_token["name"]]["stringData"][hub_token["key"]]
    )


def test_the_deployment_page_covers_the_replica_files():
    page = (ROOT / "docs" / "deployment.md").read_text()
    for name in ("docker-compose.yml", "nginx.conf", "ngshare-replicas.yaml"):
        assert name in page, name
    assert (DEPLOY / "nginx.conf").read_text().strip() in page


def test_the_one_machine_balancer_fronts_the_replicas_the_replicas_page_starts(tmp_path):
    """deploy/nginx-local.conf balances over the ports docs/replicas.md's loop gives."""
    import re
    import shutil
    import subprocess

    conf = DEPLOY / "nginx-local.conf"
    text = conf.read_text()
    upstreams = re.findall(r"server 127\.0\.0\.1:(\d+)", text)
    page = (ROOT / "docs" / "replicas.md").read_text()
    loop = re.search(r"for i in ([\d ]+); do\n\s+\.venv/bin/vngshare .*--port=(\d+)\$i", page)
    assert loop, "the replicas page no longer starts replicas in a loop"
    ports = [loop.group(2) + i for i in loop.group(1).split()]
    assert upstreams == ports
    assert "listen 127.0.0.1:10100;" in text and "API=http://127.0.0.1:10100/api" in page
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None:
        pytest.skip("nginx is not installed: only the ports were checked")
    check = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
