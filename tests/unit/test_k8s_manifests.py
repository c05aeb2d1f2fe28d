"""Kubernetes manifests (deploy/k8s): every overlay renders with `kubectl kustomize`, every
rendered resource validates offline, built-in kinds against the Kubernetes schema
(`kubernetes-validate --strict`), KEDA's custom resources with jsonschema against the closed
schemas vendored in deploy/k8s/schemas (kubernetes-validate only warns "schema not found" for
them), and the properties the platform relies on hold.

kubernetes-validate is not a project dependency (108 MB of schemas): `uv tool run` fetches the
pinned version into uv's tool cache. kubectl must be on PATH, or named by $KUBECTL (to check
an older kubectl, e.g. Debian's 1.20 with kustomize v2.0.3: KUBECTL=/path/to/kubectl).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from beacon_runtime.bus.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SECRET_TEMPLATE = K8S / "base" / "secret.template.yaml"
OVERLAYS = ("production", "dev")

KUBERNETES_VERSION = "1.31.0"
KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"

NAMESPACE = "beacon"
# Consumers scaled by KEDA on their queue's length; the gateway has a CPU HPA.
WORKERS = frozenset({"report-writer", "rag-query", "ingestion", "hitl"})
SERVICES = frozenset({"gateway"}) | WORKERS
# Custom resources, validated against the schemas vendored in deploy/k8s/schemas.
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh_v1alpha1_triggerauthentication.json",
}
# Who may open a connection to whom; "anywhere" is outside the namespace (ingress controller),
# "prometheus" the scraper's pods in the monitoring namespace.
ALLOWED_INGRESS = {
    "gateway": {"anywhere", "prometheus"},
    "ingestion": {"gateway", "rag-query", "report-writer", "prometheus"},  # report-writer: material search
    "rag-query": {"gateway", "prometheus"},
    "hitl": {"gateway", "prometheus"},
    "report-writer": {"gateway", "prometheus"},  # its /readyz, for /admin/health
}
PROMETHEUS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}


# ------------------------------------------------------------------------------ rendering

def _kubectl() -> str:
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        pytest.fail(
            "kubectl is needed to render deploy/k8s overlays (`kubectl kustomize`) and is not "
            "on PATH: install it, e.g. `apt-get install -y kubernetes-client`, or set $KUBECTL.",
            pytrace=False,
        )
    return kubectl


@functools.cache
def _render(overlay: str) -> str:
    result = subprocess.run(
        [_kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return result.stdout


def _documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(params=OVERLAYS)
def overlay(request) -> str:
    return request.param


@pytest.fixture
def resources(overlay) -> list[dict]:
    return _documents(_render(overlay))


def _of_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def _containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def _selects(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels is understood here: {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def _pod_labels(deployment: dict) -> dict:
    return deployment["spec"]["template"]["metadata"]["labels"]


def _template_keys() -> set[str]:
    secret = yaml.safe_load(SECRET_TEMPLATE.read_text())
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


# ----------------------------------------------------------------------- schema validation

def _kubernetes_validate(path: Path) -> tuple[int, str]:
    uv = shutil.which("uv")
    if not uv:
        pytest.fail("uv is needed to run kubernetes-validate (`uv tool run`)", pytrace=False)
    result = subprocess.run(
        [uv, "tool", "run", "--from", KUBERNETES_VALIDATE, "kubernetes-validate",
         "--strict", "-k", KUBERNETES_VERSION, str(path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    return result.returncode, result.stdout + result.stderr


def _assert_valid(path: Path, expected: int) -> None:
    rc, output = _kubernetes_validate(path)
    # An unknown kind or apiVersion is only a WARN with exit status 0: count the passes.
    problems = [line for line in output.splitlines()
                if line.startswith(("ERROR", "WARN", "FATAL"))]
    passed = [line for line in output.splitlines()
              if line.startswith("INFO") and " passed " in line]
    assert rc == 0 and not problems, "\n".join(problems) or output
    assert len(passed) == expected, output


def _is_custom(doc: dict) -> bool:
    """A custom resource: its API group has a dot and is not one of Kubernetes' own."""
    group = doc["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith("k8s.io")


@functools.cache
def _custom_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator:
    name = CUSTOM_SCHEMAS.get((api_version, kind))
    assert name, f"{api_version} {kind}: no vendored schema in deploy/k8s/schemas"
    schema = json.loads((K8S / "schemas" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _custom_errors(doc: dict) -> list[str]:
    validator = _custom_validator(doc["apiVersion"], doc["kind"])
    return [f"{doc['kind']} {doc['metadata'].get('name')}: {'/'.join(map(str, e.absolute_path))}: "
            f"{e.message}" for e in validator.iter_errors(doc)]


def test_overlay_is_valid_kubernetes(overlay, tmp_path):
    docs = _documents(_render(overlay))
    builtin = [d for d in docs if not _is_custom(d)]
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(yaml.safe_dump_all(builtin))
    _assert_valid(path, expected=len(builtin))
    custom = [d for d in docs if _is_custom(d)]
    assert {d["kind"] for d in custom} == {"ScaledObject", "TriggerAuthentication"}
    errors = [error for doc in custom for error in _custom_errors(doc)]
    assert not errors, "\n".join(errors)


def test_custom_resource_schemas_reject_what_keda_would_not_accept():
    """The vendored schemas are closed: an unknown or misspelt field fails, as does a
    missing required one, so a green test means KEDA's API would accept the resource."""
    (scaled,) = [d for d in _documents(_render("production"))
                 if d["kind"] == "ScaledObject" and d["metadata"]["name"] == "report-writer"]
    assert not _custom_errors(scaled)
    misspelt = json.loads(json.dumps(scaled))
    misspelt["spec"]["maxReplicas"] = misspelt["spec"].pop("maxReplicaCount")
    assert any("maxReplicas" in e for e in _custom_errors(misspelt))
    no_triggers = json.loads(json.dumps(scaled))
    del no_triggers["spec"]["triggers"]
    assert any("triggers" in e for e in _custom_errors(no_triggers))
    wrong_type = json.loads(json.dumps(scaled))
    wrong_type["spec"]["minReplicaCount"] = "two"
    assert _custom_errors(wrong_type)


def test_secret_template_is_valid_and_holds_only_placeholders():
    _assert_valid(SECRET_TEMPLATE, expected=1)
    secret = yaml.safe_load(SECRET_TEMPLATE.read_text())
    assert secret["kind"] == "Secret" and secret["metadata"]["namespace"] == NAMESPACE
    real = {k: v for k, v in secret["stringData"].items() if "PLACEHOLDER" not in v
            and not (urlsplit(v).hostname or "").endswith(".example.internal")}
    assert not real, f"values that look real in the template: {sorted(real)}"


# ------------------------------------------------------------------------------ properties

def test_every_service_has_its_resources(resources):
    assert {r["metadata"].get("namespace", NAMESPACE) for r in resources} == {NAMESPACE}
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert set(_of_kind(resources, kind)) == SERVICES, kind
    hpas = _of_kind(resources, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {"gateway"}
    scaled = _of_kind(resources, "ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled.values()} == WORKERS
    # Credentials never come out of a render: the Secret is created out of band.
    assert not _of_kind(resources, "Secret")


def test_deployments_probe_limit_and_drop_privileges(resources):
    for name, deployment in _of_kind(resources, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in _containers(deployment):
            where = f"{name}/{container['name']}"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where} {bound}"
            security = container.get("securityContext", {})
            assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("capabilities", {}).get("drop") == ["ALL"], where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp must be an emptyDir"


def test_images_are_pinned_by_the_overlay(resources, overlay):
    for name, deployment in _of_kind(resources, "Deployment").items():
        for container in _containers(deployment):
            image = container["image"]
            repository, _, digest = image.partition("@")
            tag = repository.rsplit("/", 1)[-1].partition(":")[2]
            assert tag or digest, f"{name}: image {image} has no tag; add it to the overlay"
            if overlay == "production":
                assert tag != "latest", f"{name}: `latest` in production"
                assert "/" in repository, f"{name}: {image} names no registry"


def test_services_and_budgets_select_a_deployment(resources):
    deployments = _of_kind(resources, "Deployment")
    for kind in ("Service", "PodDisruptionBudget"):
        for name, resource in _of_kind(resources, kind).items():
            selector = resource["spec"]["selector"]
            selector = selector if kind == "PodDisruptionBudget" else {"matchLabels": selector}
            matched = [d for d in deployments.values() if _selects(selector, _pod_labels(d))]
            assert len(matched) == 1, f"{kind} {name} selects {len(matched)} Deployments"
            if kind == "Service":
                assert resource["spec"].get("type", "ClusterIP") == "ClusterIP", name
                ports = {p["name"] for c in _containers(matched[0]) for p in c.get("ports", [])}
                for port in resource["spec"]["ports"]:
                    assert port["targetPort"] in ports, f"Service {name}: {port['targetPort']}"


def test_only_the_gateway_is_behind_the_ingress(resources):
    backends = set()
    for ingress in _of_kind(resources, "Ingress").values():
        spec = ingress["spec"]
        if "defaultBackend" in spec:
            backends.add(spec["defaultBackend"]["service"]["name"])
        for rule in spec.get("rules", []):
            backends |= {p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert backends == {"gateway"}
    assert "gateway" in _of_kind(resources, "Service")


def test_referenced_secret_keys_exist_in_the_template(resources):
    template_name = yaml.safe_load(SECRET_TEMPLATE.read_text())["metadata"]["name"]
    keys = _template_keys()
    config_maps = _of_kind(resources, "ConfigMap")
    for name, deployment in _of_kind(resources, "Deployment").items():
        for container in _containers(deployment):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == template_name, name
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, name
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == template_name, f"{name} {var['name']}"
                    assert ref["key"] in keys, f"{name}: {ref['key']} missing from the template"


def _bounds(autoscaler: dict) -> tuple[str, int, int]:
    spec = autoscaler["spec"]
    if autoscaler["kind"] == "ScaledObject":
        return spec["scaleTargetRef"]["name"], spec.get("minReplicaCount", 0), spec["maxReplicaCount"]
    assert spec["scaleTargetRef"]["kind"] == "Deployment"
    return spec["scaleTargetRef"]["name"], spec.get("minReplicas", 1), spec["maxReplicas"]


def test_autoscalers_own_every_replica_count(resources, overlay):
    deployments = _of_kind(resources, "Deployment")
    owners = [*_of_kind(resources, "HorizontalPodAutoscaler").values(),
              *_of_kind(resources, "ScaledObject").values()]
    targets = [_bounds(owner)[0] for owner in owners]
    assert sorted(targets) == sorted(deployments), "one autoscaler per Deployment"
    for owner in owners:
        target, low, high = _bounds(owner)
        # A `replicas` in the manifest would reset the autoscaler's choice on every apply.
        assert "replicas" not in deployments[target]["spec"], target
        assert 1 <= low <= high, target
        assert (low >= 2) if overlay == "production" else (high == 1), f"{overlay} {target}"


def test_gateway_scales_on_cpu_only(resources):
    (hpa,) = _of_kind(resources, "HorizontalPodAutoscaler").values()
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]


def test_workers_scale_on_their_own_queue_length(resources):
    """KEDA reads the queue each worker consumes: `<ns>.<consumer>` as the bus names it."""
    auths = _of_kind(resources, "TriggerAuthentication")
    keys = _template_keys()
    for name, scaled in _of_kind(resources, "ScaledObject").items():
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq", name
        assert trigger["metadata"]["mode"] == "QueueLength", name
        assert trigger["metadata"]["queueName"] == Topology(namespace=NAMESPACE).queue(name), name
        assert int(trigger["metadata"]["value"]) >= 1, name
        auth = auths[trigger["authenticationRef"]["name"]]
        (host,) = [r for r in auth["spec"]["secretTargetRef"] if r["parameter"] == "host"]
        assert host["key"] in keys, f"{name}: {host['key']} missing from the Secret template"


def test_prometheus_scrapes_every_pod_on_its_http_port(resources):
    for name, deployment in _of_kind(resources, "Deployment").items():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (http,) = [p["containerPort"] for p in container["ports"] if p["name"] == "http"]
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/port") == str(http), name
        assert annotations.get("prometheus.io/path") == "/metrics", name


def test_network_policies_let_in_only_the_allowed_callers(resources):
    deployments = _of_kind(resources, "Deployment")
    policies = [p for p in _of_kind(resources, "NetworkPolicy").values()
                if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    for name, deployment in deployments.items():
        labels = _pod_labels(deployment)
        selecting = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        assert selecting, f"{name} is selected by no NetworkPolicy: open to everyone"
        callers = set()
        for rule in (r for p in selecting for r in p["spec"].get("ingress", [])):
            if not rule.get("from"):
                callers.add("anywhere")
            for peer in rule.get("from", []):
                if peer == PROMETHEUS_PEER:
                    callers.add("prometheus")
                elif "namespaceSelector" in peer or "ipBlock" in peer:
                    callers.add("anywhere")
                else:
                    callers |= {caller for caller, d in deployments.items()
                                if _selects(peer["podSelector"], _pod_labels(d))}
        assert callers == ALLOWED_INGRESS[name], name


def test_internal_urls_and_ports_agree(resources):
    services = _of_kind(resources, "Service")
    (config,) = _of_kind(resources, "ConfigMap").values()
    urls = {k: v for k, v in config["data"].items() if k.endswith("_URL") and "://" in v}
    assert {"INGESTION_URL", "RAG_QUERY_URL", "HITL_URL", "REPORT_WRITER_URL"} <= set(urls)
    for key, url in urls.items():
        parts = urlsplit(url)
        if parts.hostname in services:
            assert parts.port in {p["port"] for p in services[parts.hostname]["spec"]["ports"]}, key
    assert config["data"]["HOST"] == "0.0.0.0"
    for name, deployment in _of_kind(resources, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {v["name"]: v.get("value") for v in container.get("env", [])}
        (http,) = [p["containerPort"] for p in container["ports"] if p["name"] == "http"]
        assert env.get("PORT") == str(http), name


def test_gateway_replicas_spread_across_nodes(resources):
    pod = _of_kind(resources, "Deployment")["gateway"]["spec"]["template"]["spec"]
    spread = [c["topologyKey"] for c in pod.get("topologySpreadConstraints", [])]
    anti = pod.get("affinity", {}).get("podAntiAffinity")
    assert "kubernetes.io/hostname" in spread or anti


def test_kustomizations_stay_within_kustomize_v2():
    """Debian's kubectl 1.20 embeds kustomize v2.0.3: overlays must name their base under
    `bases:` (v2 reads only files under `resources:`), and v3+ fields are unknown to it."""
    newer = re.compile(
        r"^(replicas|patches|labels|components|helmCharts|openapi):", re.MULTILINE
    )
    for path in K8S.rglob("kustomization.yaml"):
        text = path.read_text()
        assert not newer.findall(text), f"{path}: {newer.findall(text)}"
        listed = yaml.safe_load(text).get("resources", [])
        assert not [r for r in listed if (path.parent / r).is_dir()], f"{path}: use bases:"


def test_every_deployment_runs_a_module_that_exists(resources):
    """Images are built with MODULE=beacon_<service>.main (deploy/k8s/README.md): a
    Deployment whose module is missing from the workspace would only ever crash-loop."""
    for name, deployment in _of_kind(resources, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        image = container["image"].rsplit("/", 1)[-1].split(":")[0]
        assert image == f"beacon-{name}", (name, container["image"])
        module = f"beacon_{name.replace('-', '_')}.main"
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"


def _env(container: dict) -> dict[str, dict]:
    return {var["name"]: var for var in container.get("env", [])}


def test_every_service_with_a_database_has_its_migration_job(resources):
    """A service that reads DATABASE_URL is migrated by its own Job, from its own image, with
    its own `migrate` module (Alembic to head under the advisory lock, then exit), and its
    Deployment sets MIGRATE_ON_START=false, so no pod migrates at start as well."""
    from beacon_runtime.settings import ServiceSettings

    assert "migrate_on_start" in ServiceSettings.model_fields  # the variable the pods set
    deployments = _of_kind(resources, "Deployment")
    jobs = _of_kind(resources, "Job")
    with_database = {name for name, d in deployments.items()
                     if "DATABASE_URL" in _env(d["spec"]["template"]["spec"]["containers"][0])}
    assert with_database == {"gateway", "ingestion", "rag-query", "hitl"}
    assert set(jobs) == {f"{name}-migrate" for name in with_database}
    for name in with_database:
        (service,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert _env(service).get("MIGRATE_ON_START", {}).get("value") == "false", name
        job = jobs[f"{name}-migrate"]
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        module = f"beacon_{name.replace('-', '_')}.migrate"
        assert container["image"] == service["image"], name  # the same release
        assert container["command"] == ["/app/.venv/bin/python", "-m", module], name
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert _env(container)["DATABASE_URL"] == _env(service)["DATABASE_URL"], name
        # The Job migrates and exits: no port, no probes, no MIGRATE_ON_START to turn it off.
        assert not container.get("ports") and "MIGRATE_ON_START" not in _env(container), name
        assert "livenessProbe" not in container, name
        assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 1, name
        assert job["spec"]["activeDeadlineSeconds"] > 0, name
        # Applied alone before the rest of a release: it needs nothing but the Secret.
        assert not container.get("envFrom"), name
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "migration", name
        # Its pods are nobody's backends (no Service, PDB or autoscaler picks them up).
        for kind in ("Service", "PodDisruptionBudget"):
            for other, resource in _of_kind(resources, kind).items():
                selector = resource["spec"]["selector"]
                selector = selector if kind == "PodDisruptionBudget" else {"matchLabels": selector}
                assert not _selects(selector, labels), f"{kind} {other} selects {name}'s Job"


def test_migration_jobs_drop_privileges(resources):
    for name, job in _of_kind(resources, "Job").items():
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod["containers"]:
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name} {bound}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp_volumes, f"{name}: /tmp must be an emptyDir"


def test_migration_jobs_are_selected_by_their_component_label(resources):
    """The release applies `-l app.kubernetes.io/component=migration` first: that selects
    the Jobs and nothing else of the render."""
    picked = [r for r in resources
              if r["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migration"]
    assert sorted(r["metadata"]["name"] for r in picked) == sorted(_of_kind(resources, "Job"))
    assert {r["kind"] for r in picked} == {"Job"}
