"""Stack -> Kubernetes manifests (pure rendering: the same model, a different renderer).

Per service a Deployment (and a Service when something reaches it), the proxy as an Ingress (or,
with proxy="nginx", as its own Deployment with the rendered config in a ConfigMap), named volumes
as PersistentVolumeClaims, mounted configuration files as ConfigMaps. Whatever has no Kubernetes
equivalent is a warning that names the field: nothing is dropped silently.

Manifests are committed and shared, so no secret is written into them: secrets, mounted files
that are not plainly configuration (keys, certificates, anything outside the stack's folder),
and env values that the stack files do not spell out themselves (they came from the shell or an
env file) become Secret objects without data, referenced by name; the cluster's own Secret
holds the values (`kubectl create secret`), unless `include_secret_data` asks for them.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from deployer.core import labels, nginx, outside
from deployer.model.errors import StackError
from deployer.model.spec import Healthcheck, Service, Stack, UpdatePolicy

Manifest = dict[str, Any]
ProxyMode = Literal["ingress", "nginx"]
MANAGED_BY = "deployer"
DEFAULT_TAG = "latest"


@dataclass
class Export:
    """The manifests, and the warnings for what they could not express."""

    manifests: list[Manifest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    namespace: str | None = None
    image_registry: str | None = None  # where the images deployer builds are pushed
    image_tag: str = DEFAULT_TAG
    proxy: ProxyMode = "ingress"
    host: str | None = None  # the Ingress rule's host (any host when None)
    proxy_template: str | None = None  # the nginx template's text (proxy="nginx")
    # The stack files' own text: an env value spelled there is configuration and is written
    # inline; any other (from the shell, an env file) goes into a Secret. None: every value.
    stack_text: str | None = None
    include_secret_data: bool = False  # write secret values into the Secrets (explicitly)
    # Values that came from outside the stack files (those its Compose templates read): an
    # argument holding one reads it from the env Secret; any other field holding one is refused.
    outside_values: frozenset[str] = frozenset()


# A mounted file is inlined into a ConfigMap only when it is plainly configuration.
_CONFIG_SUFFIXES = {
    ".conf", ".cfg", ".cnf", ".ini", ".yaml", ".yml", ".json", ".toml", ".xml", ".properties",
    ".txt", ".html", ".htm", ".css", ".js", ".lua", ".sql", ".md", ".template", ".tmpl",
}  # fmt: skip
_SECRET_NAMES = re.compile(
    r"(key|secret|passw|token|credential|htpasswd|netrc|pgpass|id_rsa|id_ed25519|id_ecdsa|"
    r"\.pem$|\.crt$|\.der$|\.p12$|\.pfx$|\.jks$|\.keystore$|\.env$|^\.env)",
    re.IGNORECASE,
)


def export(stack: Stack, options: Options = Options()) -> Export:
    """The manifests. Raises StackError when a field other than the environment or an
    argument holds a value from outside the stack files (unless include_secret_data)."""
    result = _render(stack, options)
    protected = outside.guarded(options.outside_values)
    if options.include_secret_data or not protected:
        return result
    result.warnings = [_scrubbed(warning, protected) for warning in result.warnings]
    leaks = sorted(
        {
            f"{manifest['kind']}/{manifest['metadata']['name']}: {path}"
            for manifest in result.manifests
            for value in protected
            for path in outside.paths_holding(manifest, value)
            # An image reference is what the cluster pulls, never a secret: a tag from .env
            # (`image: app:${TAG}`) is written as it is.
            if not path.endswith(".image")
        }
    )
    if leaks:
        raise StackError(
            "export kubernetes",
            [
                f"{leak} holds a value from the environment or an env file, which manifests "
                "never hold: set it through the service's environment (exported as a Secret), "
                "or pass --include-secret-data"
                for leak in leaks
            ],
        )
    return result


def _scrubbed(text: str, guarded: list[str]) -> str:
    for value in guarded:
        text = text.replace(value, "<from the environment>")
    return text


def _render(stack: Stack, options: Options) -> Export:
    result = Export()
    renderer = _Renderer(stack, options, result)
    if stack.networks:
        result.warnings.append(
            "networks: a cluster has one flat pod network; separate services with NetworkPolicies"
        )
    for service in stack.services:
        if service.proxy is not None and options.proxy == "ingress":
            renderer.ingress_for_proxy(service)
        elif service.proxy is not None:
            renderer.nginx_proxy(service, renderer.workload(service))
        else:
            renderer.workload(service)
    if not any(s.proxy for s in stack.services):
        renderer.ingress_for_front_door()
    for volume in stack.volumes:
        renderer.claim(volume.name)
    return result


class _Renderer:
    def __init__(self, stack: Stack, options: Options, result: Export) -> None:
        self.stack = stack
        self.options = options
        self.result = result
        self.reached = _reached(stack)

    def warn(self, service: str, field_path: str, why: str) -> None:
        self.result.warnings.append(f"services.{service}.{field_path}: {why}")

    def add(self, manifest: Manifest) -> None:
        self.result.manifests.append(manifest)

    def metadata(self, name: str, service: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {"name": _dns_name(name)}  # Kubernetes names are DNS labels
        if self.options.namespace:
            found["namespace"] = self.options.namespace
        found["labels"] = self.labels(service)
        return found

    def labels(self, service: str | None) -> dict[str, str]:
        found = {
            "app.kubernetes.io/part-of": self.stack.name,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            labels.STACK: self.stack.name,
        }
        if service:
            found = {
                "app.kubernetes.io/name": service,
                "app.kubernetes.io/instance": self.stack.name,
                **found,
                labels.SERVICE: service,
            }
        return found

    def selector(self, service: str) -> dict[str, str]:
        return {"app.kubernetes.io/name": service, "app.kubernetes.io/instance": self.stack.name}

    # -- workloads ------------------------------------------------------------------------------

    def workload(self, service: Service) -> Manifest:
        """The service's Deployment (returned) and, when something reaches it, its Service."""
        self._unsupported(service)
        container = self.container(service)
        volumes = self.volumes(service, container)
        pod: dict[str, Any] = {"containers": [container]}
        if volumes:
            pod["volumes"] = volumes
        pod["terminationGracePeriodSeconds"] = math.ceil(service.stop_grace_period.total_seconds())
        identity = _identity(service.user)
        if identity is not None:
            pod["securityContext"] = {
                "runAsNonRoot": identity[0] != 0,
                "runAsUser": identity[0],
                **({"runAsGroup": identity[1], "fsGroup": identity[1]} if identity[1] else {}),
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        elif service.user:
            self.warn(
                service.name,
                "user",
                f"{service.user!r} is not numeric: Kubernetes "
                "runs as a uid; set runAsUser yourself",
            )
        deployment: Manifest = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(service.name, service.name),
            "spec": {
                "replicas": service.replicas,
                "selector": {"matchLabels": self.selector(service.name)},
                "strategy": _strategy(service),
                "template": {
                    "metadata": {
                        "labels": self.labels(service.name),
                        **({"annotations": dict(service.labels)} if service.labels else {}),
                    },
                    "spec": pod,
                },
            },
        }
        self.add(deployment)
        ports = self.reached.get(service.name)
        if ports:
            self.add(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": self.metadata(service.name, service.name),
                    "spec": {
                        # The stack's own nginx is its front door: the cluster's load balancer
                        # reaches it (with proxy="ingress" the Ingress does instead).
                        "type": "LoadBalancer" if service.proxy else "ClusterIP",
                        "selector": self.selector(service.name),
                        "ports": [
                            {
                                "name": _port_name(port, target, protocol),
                                "port": port,
                                "targetPort": target,
                                "protocol": protocol.upper(),
                            }
                            for port, target, protocol in ports
                        ],
                    },
                }
            )
        return deployment

    def image(self, service: Service) -> str:
        if service.image is not None:
            return service.image
        repository = labels.image_repository(self.stack.name, service.name)
        if self.options.image_registry:
            return f"{self.options.image_registry}/{repository}:{self.options.image_tag}"
        self.warn(
            service.name,
            "build",
            "the image is built here; push it where the cluster "
            f"pulls from (--image-registry HOST) as {repository}:{self.options.image_tag}",
        )
        return f"{repository}:{self.options.image_tag}"

    def container(self, service: Service) -> dict[str, Any]:
        found: dict[str, Any] = {"name": _dns_name(service.name), "image": self.image(service)}
        if _dns_name(service.name) != service.name:
            self.warn(service.name, "name", f"named {_dns_name(service.name)!r} in Kubernetes "
                      "(names there are lower-case DNS labels); other services reach it "
                      "so")  # fmt: skip
        found["imagePullPolicy"] = {"always": "Always", "never": "Never"}.get(
            service.pull_policy or "", "IfNotPresent"
        )
        hidden_args: dict[str, str] = {}
        if service.entrypoint is not None:
            found["command"] = self.arguments(list(service.entrypoint), hidden_args)
        if service.command is not None:
            found["args"] = self.arguments(list(service.command), hidden_args)
        if service.working_dir:
            found["workingDir"] = service.working_dir
        container_ports = sorted(
            {(p.container, p.protocol) for p in service.ports}
            | {(port, "tcp") for port in service.expose}
            | {(target, protocol) for _, target, protocol in self.reached.get(service.name, [])}
        )
        if container_ports:
            found["ports"] = [
                {"name": _port_name(port, port, protocol), "containerPort": port,
                 "protocol": protocol.upper()}
                for port, protocol in container_ports
            ]  # fmt: skip
        if service.env or hidden_args:
            found["env"] = self.env(service, hidden_args)
        resources = _resources(service)
        if resources:
            found["resources"] = resources
        if service.healthcheck is not None:
            found.update(_probes(service.healthcheck))
        found["securityContext"] = self.security_context(service)
        return found

    def arguments(self, words: list[str], hidden: dict[str, str]) -> list[str]:
        """An argument holding an outside value becomes $(DEPLOYER_ARG_n): Kubernetes expands
        it from the container's env, which reads it from the service's env Secret."""
        protected = outside.guarded(self.options.outside_values)
        found = []
        for word in words:
            if any(value in word for value in protected):
                key = f"DEPLOYER_ARG_{len(hidden) + 1}"
                hidden[key] = word
                word = f"$({key})"
            found.append(word)
        return found

    def env(self, service: Service, hidden_args: dict[str, str]) -> list[dict[str, Any]]:
        """Values the stack files spell inline; the others (and arguments that hold outside
        values) by reference to the service's env Secret (made here, without data unless
        asked)."""
        known = self.options.stack_text
        inline = {k: v for k, v in service.env.items() if known is not None and v in known}
        hidden = {k: v for k, v in service.env.items() if k not in inline} | hidden_args
        secret = _dns_name(f"{service.name}-env")
        if hidden:
            literals = " ".join(f"--from-literal={key}=..." for key in sorted(hidden))
            self.secret(secret, service.name, {k: v.encode() for k, v in hidden.items()})
            self.warn(service.name, "env", f"{', '.join(sorted(hidden))}: their values come "
                      f"from outside the stack files, so they are in Secret {secret}: "
                      + self.secret_hint(secret, literals))  # fmt: skip
        # Arguments' keys first: $(VAR) expands only variables defined before it is used.
        ordered = [*hidden_args, *sorted(service.env)]
        return [
            {"name": k, "value": inline[k]} if k in inline else
            {"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}}
            for k in ordered
        ]  # fmt: skip

    def secret(self, name: str, service: str | None, values: dict[str, bytes]) -> None:
        """A Secret with the keys `values` has: with its data only when asked for."""
        manifest: Manifest = {
            "apiVersion": "v1", "kind": "Secret", "metadata": self.metadata(name, service),
            "type": "Opaque",
        }  # fmt: skip
        if self.options.include_secret_data:
            manifest["data"] = {
                key: base64.b64encode(value).decode() for key, value in values.items()
            }
        self.add(manifest)

    def secret_hint(self, name: str, sources: str) -> str:
        """How the Secret gets its data: `sources` are kubectl's --from-literal/--from-file."""
        if self.options.include_secret_data:
            return "its data is written (--include-secret-data): keep these files private"
        command = f"kubectl create secret generic {name} {sources}"
        return f"its data is not written; create it with `{command}`"

    def security_context(self, service: Service) -> dict[str, Any]:
        context: dict[str, Any] = {}
        # Docker allows privilege escalation unless told otherwise; a pod here does not.
        context["allowPrivilegeEscalation"] = False
        unconfined = any(
            opt.replace("=", ":") == "seccomp:unconfined" for opt in service.security_opt
        )
        context["seccompProfile"] = {"type": "Unconfined" if unconfined else "RuntimeDefault"}
        for opt in service.security_opt:
            if opt.replace("=", ":") not in {
                "no-new-privileges:true", "no-new-privileges", "seccomp:unconfined"
            }:  # fmt: skip
                self.warn(
                    service.name,
                    "security_opt",
                    f"{opt!r} has no securityContext "
                    "equivalent here; set seLinuxOptions/appArmorProfile yourself",
                )
        if service.read_only:
            context["readOnlyRootFilesystem"] = True
        capabilities: dict[str, list[str]] = {}
        if service.cap_add:
            capabilities["add"] = [c.upper().removeprefix("CAP_") for c in service.cap_add]
        if service.cap_drop:
            capabilities["drop"] = [c.upper().removeprefix("CAP_") for c in service.cap_drop]
        if capabilities:
            context["capabilities"] = capabilities
        context["privileged"] = False
        return context

    def volumes(self, service: Service, container: dict[str, Any]) -> list[dict[str, Any]]:
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        for index, (path, options) in enumerate(sorted(service.tmpfs.items())):
            name = f"tmpfs-{index}"
            empty: dict[str, Any] = {"medium": "Memory"}
            size = _tmpfs_size(options)
            if size:
                empty["sizeLimit"] = size
            volumes.append({"name": name, "emptyDir": empty})
            mounts.append({"name": name, "mountPath": path})
        for mount in service.mounts:
            if mount.type == "volume":
                name = f"{self.stack.name}-{mount.source}"
                volumes.append({"name": mount.source, "persistentVolumeClaim": {"claimName": name}})
                mounts.append(
                    {"name": mount.source, "mountPath": mount.target, "readOnly": mount.read_only}
                )
                continue
            self.mounted_file(service, mount.source, mount.target, volumes, mounts)
        if mounts:
            container["volumeMounts"] = mounts
        return volumes

    def mounted_file(
        self,
        service: Service,
        source: str,
        target: str,
        volumes: list[dict[str, Any]],
        mounts: list[dict[str, Any]],
    ) -> None:
        path = self.stack.resolve(Path(source).expanduser())
        if not path.is_file():
            self.warn(
                service.name,
                "mounts",
                f"the host folder {source!r} cannot be bound into "
                "a pod; use a PersistentVolumeClaim (a named volume) instead",
            )
            return
        name = _dns_name(f"{service.name}-{path.name}")
        text = self.configuration(path)
        if text is None:
            data = path.read_bytes() if self.options.include_secret_data else b""
            self.secret(name, service.name, {path.name: data})
            hint = self.secret_hint(name, f"--from-file={path.name}={source}")
            self.warn(service.name, "mounts", f"{source} is not plainly configuration (a key, "
                      f"a certificate, or a file outside the stack's folder): it is mounted from "
                      f"Secret {name}; {hint}")  # fmt: skip
            volumes.append({"name": name, "secret": {"secretName": name}})
        else:
            self.add(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": self.metadata(name, service.name),
                    "data": {path.name: text},
                }
            )
            volumes.append({"name": name, "configMap": {"name": name}})
        mounts.append({"name": name, "mountPath": target, "subPath": path.name, "readOnly": True})

    def configuration(self, path: Path) -> str | None:
        """The file's text when it is plainly configuration, else None (never inlined)."""
        root = self.stack.root.resolve()
        resolved = path.resolve()
        inside = resolved == root or root in resolved.parents
        if not inside or _SECRET_NAMES.search(path.name) or path.suffix not in _CONFIG_SUFFIXES:
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            return None

    def claim(self, volume: str) -> None:
        self.add(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": self.metadata(f"{self.stack.name}-{volume}"),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
        )

    # -- the proxy --------------------------------------------------------------------------------

    def ingress_for_proxy(self, proxy: Service) -> None:
        assert proxy.proxy is not None
        settings = proxy.proxy
        annotations = {"nginx.ingress.kubernetes.io/proxy-body-size": settings.max_body_size}
        if settings.rate_limit is not None:
            per_second = settings.rate_limit.per_second
            annotations["nginx.ingress.kubernetes.io/limit-rps"] = str(per_second)
            multiplier = max(1, math.ceil(settings.rate_limit.burst / per_second))
            annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] = str(multiplier)
        self.result.warnings.append(
            f"services.{proxy.name}: becomes an Ingress (ingress-nginx); its template "
            f"{settings.template} is not used: pass --proxy nginx to deploy it as it is"
        )
        self.ingress(proxy.name, settings.upstream, settings.port, annotations)

    def ingress_for_front_door(self) -> None:
        """No proxy in the stack: the first service publishing a port gets the Ingress."""
        for service in self.stack.services:
            if service.ports:
                port = service.ports[0]
                self.ingress(service.name, service.name, port.host or port.container, {})
                return

    def ingress(self, name: str, backend: str, port: int, annotations: dict[str, str]) -> None:
        rule: dict[str, Any] = {
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": backend, "port": {"number": port}}},
                    }
                ]
            }
        }
        if self.options.host:
            rule["host"] = self.options.host
        metadata = self.metadata(name, name)
        if annotations:
            metadata["annotations"] = annotations
        self.add(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": metadata,
                "spec": {"ingressClassName": "nginx", "rules": [rule]},
            }
        )

    def nginx_proxy(self, proxy: Service, deployment: Manifest) -> None:
        """proxy="nginx": the stack's own nginx config in a ConfigMap, its upstream reached
        through the upstream's Service, mounted where deployer's nginx reads it."""
        assert proxy.proxy is not None
        if self.options.proxy_template is None:
            raise ValueError("proxy='nginx' needs the proxy's template text")
        config = nginx.render(
            self.options.proxy_template,
            str(proxy.proxy.template),
            upstream=proxy.proxy.upstream,
            addresses=[f"{proxy.proxy.upstream}:{proxy.proxy.port}"],
            rate_limit=proxy.proxy.rate_limit,
            max_body_size=proxy.proxy.max_body_size,
            public_metrics=proxy.proxy.public_metrics,
        )
        name = f"{proxy.name}-config"
        self.add(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": self.metadata(name, proxy.name),
                "data": {"nginx.conf": config},
            }
        )
        pod = deployment["spec"]["template"]["spec"]
        pod.setdefault("volumes", []).append({"name": name, "configMap": {"name": name}})
        container = pod["containers"][0]
        container.setdefault("volumeMounts", []).append(
            {"name": name, "mountPath": labels.PROXY_CONFIG_DIR, "readOnly": True}
        )
        if proxy.command is None:
            container["args"] = ["nginx", "-c", labels.PROXY_CONFIG, "-g", "daemon off;"]

    # -- what does not translate ------------------------------------------------------------------

    def _unsupported(self, service: Service) -> None:
        name = service.name
        if service.depends_on:
            self.warn(
                name,
                "depends_on",
                "Kubernetes starts pods in no order; readiness probes "
                "keep traffic away until a dependency is up",
            )
        if service.restart in {"no"} or service.restart.startswith("on-failure"):
            self.warn(
                name,
                "restart",
                f"{service.restart!r}: a Deployment always restarts its "
                "pods (a Job runs to completion)",
            )
        if service.resources.pids:
            self.warn(
                name,
                "resources.pids",
                "no per-container pids limit in a pod spec; the "
                "kubelet's podPidsLimit sets it per node",
            )
        for key in sorted(service.ulimits):
            self.warn(name, f"ulimits.{key}", "pods take the node's limits; no per-pod ulimits")
        if service.logging is not None:
            self.warn(
                name,
                "logging",
                "the cluster's log collection replaces per-container log drivers and rotation",
            )
        if service.stop_signal:
            self.warn(
                name,
                "stop_signal",
                f"{service.stop_signal}: pods get SIGTERM; send another signal from a preStop hook",
            )
        if service.init:
            self.warn(name, "init", "no init process option; add one (tini) to the image")
        if service.watch:
            self.warn(name, "watch", "deployer watch is an inner loop on one engine; a cluster "
                      "takes new images through its Deployments")  # fmt: skip
        for attachment in service.networks:
            if attachment.aliases:
                self.warn(
                    name,
                    f"networks.{attachment.name}.aliases",
                    "a pod is reached through its Service's name only",
                )
        if len(service.networks) > 1:
            self.warn(name, "networks", "one flat pod network: use NetworkPolicies to separate")
        for file in service.files:
            self.warn(name, "files", f"{file.path}: put it in a ConfigMap and mount it")
        container_settings = {
            "hostname": "set the pod's spec.hostname", "domainname": "set spec.subdomain",
            "extra_hosts": "use the pod's hostAliases", "shm_size": "mount an emptyDir "
            "(medium: Memory) at /dev/shm", "sysctls": "use securityContext.sysctls",
            "pid": "use hostPID / shareProcessNamespace", "ipc": "use hostIPC",
            "privileged": "use securityContext.privileged", "devices": "use a device plugin",
            "group_add": "use securityContext.supplementalGroups",
            "network_mode": "pods share a network per pod: put such services in one pod",
            "mac_address": "pods take their addresses from the cluster network",
            "device_cgroup_rules": "use a device plugin",
        }  # fmt: skip
        for key, how in container_settings.items():
            if getattr(service, key):
                self.warn(name, key, f"not exported; {how}")
        if service.rollback is not None:
            self.warn(name, "rollback", "not exported; `kubectl rollout undo` rolls back")
        if service.mode == "global":
            self.warn(name, "mode", "not exported; a DaemonSet runs one pod per node")
        if service.placement != service.placement.__class__():
            self.warn(name, "placement", "not exported; use nodeSelector, affinity and "
                      "topologySpreadConstraints")  # fmt: skip
        for secret in service.secrets:
            # Values are never written into manifests: the cluster's own Secret holds them.
            self.warn(name, "secrets", f"{secret.path()}: create a Secret ({secret.source}) "
                      "with kubectl and mount it there; values are not exported")  # fmt: skip
        for config in service.configs:
            self.warn(name, "configs", f"{config.path()}: put {config.source} in a ConfigMap "
                      "and mount it there")  # fmt: skip
        if service.proxy is not None and service.proxy.transport == "socket":
            self.warn(
                name,
                "proxy.transport",
                "socket: pods reach each other over TCP through the upstream's Service",
            )
        if service.update.drain_timeout != UpdatePolicy().drain_timeout:
            self.warn(
                name,
                "update.drain_timeout",
                "the proxy drains with the pod's terminationGracePeriodSeconds",
            )


def _reached(stack: Stack) -> dict[str, list[tuple[int, int, str]]]:
    """Service -> (service port, container port, protocol) for those something reaches."""
    found: dict[str, set[tuple[int, int, str]]] = {}
    for service in stack.services:
        for port in service.ports:
            found.setdefault(service.name, set()).add(
                (port.host or port.container, port.container, port.protocol)
            )
        for exposed in service.expose:
            found.setdefault(service.name, set()).add((exposed, exposed, "tcp"))
        if service.proxy is not None:
            upstream = service.proxy.upstream
            found.setdefault(upstream, set()).add((service.proxy.port, service.proxy.port, "tcp"))
    dependants = {d.service for s in stack.services for d in s.depends_on}
    for name in dependants - set(found):
        check = stack.service(name).healthcheck
        if check is not None and check.http is not None:
            found[name] = {(check.http.port, check.http.port, "tcp")}
    return {name: sorted(ports) for name, ports in found.items()}


def _strategy(service: Service) -> dict[str, Any]:
    step = service.update.parallelism
    if service.update.order == "start-first":
        return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": step}}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": step, "maxSurge": 0}}


def _seconds(value: timedelta, minimum: int = 1) -> int:
    return max(minimum, math.ceil(value.total_seconds()))


def _probes(check: Healthcheck) -> dict[str, Any]:
    if check.http is not None:
        handler: dict[str, Any] = {
            "httpGet": {"path": check.http.path, "port": check.http.port, "scheme": "HTTP"}
        }
    elif isinstance(check.command, str):
        handler = {"exec": {"command": ["sh", "-c", check.command]}}
    else:
        handler = {"exec": {"command": list(check.command or ())}}
    timing = {
        "periodSeconds": _seconds(check.interval),
        "timeoutSeconds": _seconds(check.timeout),
        "failureThreshold": check.retries,
    }
    probes: dict[str, Any] = {
        "readinessProbe": {**handler, **timing, "successThreshold": 1},
        "livenessProbe": {**handler, **timing, "successThreshold": 1},
    }
    if check.start_period > timedelta(0):
        tries = math.ceil(check.start_period / check.interval) + check.retries
        probes["startupProbe"] = {**handler, **timing, "failureThreshold": tries}
    return probes


def _cpu(cpus: float) -> str:
    millis = round(cpus * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _memory(size: int) -> str:
    for unit, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _resources(service: Service) -> dict[str, Any]:
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if service.resources.cpus:
        limits["cpu"] = _cpu(service.resources.cpus)
    if service.resources.memory:
        limits["memory"] = _memory(service.resources.memory)
    if service.resources.reservations.cpus:
        requests["cpu"] = _cpu(service.resources.reservations.cpus)
    if service.resources.reservations.memory:
        requests["memory"] = _memory(service.resources.reservations.memory)
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


_SIZE = re.compile(r"(?:^|,)size=(\d+)([kmg]?)(?:,|$)", re.IGNORECASE)


def _tmpfs_size(options: str) -> str | None:
    match = _SIZE.search(options)
    if not match:
        return None
    unit = {"": "", "k": "Ki", "m": "Mi", "g": "Gi"}[match[2].lower()]
    return f"{match[1]}{unit}"


def _identity(user: str | None) -> tuple[int, int | None] | None:
    if not user:
        return None
    uid, _, gid = user.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        return None
    return int(uid), int(gid) if gid else None


def _port_name(port: int, target: int, protocol: str) -> str:
    # A port name is at most 15 characters of [a-z0-9-].
    return f"{protocol}-{target}" if port == target else f"{protocol}-{port}"


def _dns_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63]
