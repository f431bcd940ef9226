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
