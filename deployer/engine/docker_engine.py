"""The one module that talks to the Docker engine (through docker-py's low-level API).

Everything else depends on the `Engine` protocol; engine errors are translated into deployer's
own exceptions here and nowhere else.

docker-py (with requests and urllib3) costs ~0.12 s to import, more than `ls` or `status` spend
talking to the engine: over a unix socket (the local engine, or an ssh:// engine's tunnel) the
reads those commands make (lists, inspects, a path's stat) are plain HTTP requests made here,
and docker-py is loaded at the first call that needs it.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from deployer.core import labels
from deployer.core.labels import LEASE_FILE, LOCK, LOCK_IMAGE
from deployer.core.state import ContainerInfo, NetworkInfo, VolumeInfo
from deployer.engine import archive, wire
from deployer.engine.inspect import container_info, exit_code, listed_info, stats_of
from deployer.engine.protocol import Claim, ContainerStats, PathStat, Session
from deployer.local import ssh_tunnel
from deployer.local.engine_address import chosen_address
from deployer.model.errors import (
    DeployerError,
    EngineError,
    EngineUnavailable,
    ImageError,
    NotFound,
)  # fmt: skip

if TYPE_CHECKING:  # a type only: reading the engine never loads the models
    import docker
    import docker.auth
    import docker.errors
    import requests

    from deployer.core.render import ContainerPlan
    from deployer.core.swarm_objects import (
        NodeInfo,
        ServiceInfo,
        SwarmInfo,
        SwarmObject,
        TaskInfo,
    )  # fmt: skip
else:  # loaded by _docker_py() at the first call that needs them
    docker = requests = None

API_VERSION = wire.API_VERSION

START_ENGINE_HINT = (
    "start one: `dockerd > /var/log/dockerd.log 2>&1 &` (install it with "
    "`apt-get install -y docker.io`), or set DOCKER_HOST to an engine you can reach"
)


def _docker_py() -> None:
    global docker, requests
    import docker as docker_py
    import docker.auth
    import docker.errors
    import requests as requests_module

    docker, requests = docker_py, requests_module


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn docker-py and transport errors into deployer errors that say what to do."""
    if docker is None:
        _docker_py()
    try:
        yield
    except docker.errors.NotFound as error:
        raise NotFound(f"{action}: {error.explanation or error}") from None
    except docker.errors.APIError as error:
        text = str(error.explanation or error)
        raise EngineError(f"{action}: {text}", hint=_hint_for(text)) from None
    except requests.exceptions.ConnectionError as error:
        raise _unreachable(action, error) from None
    except requests.exceptions.RequestException as error:  # a timeout, a broken stream
        raise EngineError(f"{action}: the engine's answer failed: {error}") from None
    except docker.errors.DockerException as error:  # configuration, TLS, a bad argument
        text = str(error)
        if "Error while fetching server API version" in text or "Connection" in text:
            raise EngineUnavailable(
                f"cannot reach the Docker engine ({action}): {text}", hint=START_ENGINE_HINT
            ) from None
        raise EngineError(f"{action}: {text}", hint=_hint_for(text)) from None


def _unreachable(action: str, error: BaseException) -> EngineUnavailable:
    dropped = ssh_tunnel.dropped()
    if dropped is not None:  # the server was reached, then the SSH connection ended
        return EngineUnavailable(
            f"the SSH connection to {dropped.address.url} ended ({action}): "
            f"{dropped.messages() or 'ssh exited'}",
            hint="run the command again: it carries on from what is on the server (the "
            "deploy lock of this process is taken over)",
        )
    return EngineUnavailable(
        f"cannot reach the Docker engine ({action}): {error}", hint=START_ENGINE_HINT
    )


@contextmanager
def _packing(context: Path, tag: str) -> Iterator[None]:
    """The SDK packs the build context into a temporary file first: a full disk shows here."""
    try:
        yield
    except OSError as error:
        if isinstance(error, requests.exceptions.RequestException):
            raise
        # The SDK rewords the system's error ("Can not read file in context"): find its own.
        cause: BaseException | None = error
        while cause is not None and not (isinstance(cause, OSError) and cause.strerror):
            cause = cause.__context__
        reason = cause.strerror if isinstance(cause, OSError) else None
        raise ImageError(
            f"building {tag}: cannot pack the build context {context}: {reason or error}",
            hint=f"the context is packed in {tempfile.gettempdir()} (TMPDIR): free space there "
            "or point TMPDIR elsewhere, and keep the context small (.dockerignore)",
        ) from None


_KNOWN_REFUSALS = {
    "rlimit": "a ulimit in the stack is above the engine's own hard limit; lower `ulimits`",
    "port is already allocated": "another process publishes that host port; choose another "
    "one, or host port 0 for an ephemeral port",
    "address already in use": "another process listens on that host port; choose another one",
    "range of CPUs": "a service asks for more CPUs than the host has; lower `resources.cpus`",
    "Minimum memory limit": "a memory limit is below the engine's minimum (6m); raise it",
}


def _hint_for(text: str) -> str | None:
    for needle, hint in _KNOWN_REFUSALS.items():
        if needle in text:
            return hint
    return None


def engine_params(address: str | None = None) -> dict[str, Any]:
    """Where the engine is, the Docker CLI's way: `address` (-H, or the stack's `engine`), else
    DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else the context DOCKER_CONTEXT
    names, else the current context of the Docker config (`docker context use`), else the local
    socket."""
    if address:
        return {"base_url": address}
    tls = os.environ.get("DOCKER_TLS_VERIFY") or os.environ.get("DOCKER_CERT_PATH")
    if os.environ.get("DOCKER_HOST") and not tls:
        return {"base_url": os.environ["DOCKER_HOST"]}
    if not (os.environ.get("DOCKER_HOST") or os.environ.get("DOCKER_CONTEXT")) and (
        _current_context() in {None, "default"}
    ):
        return {}  # the local socket: known without loading docker-py
    _docker_py()
    from docker.context import ContextAPI

    params: dict[str, Any] = docker.utils.kwargs_from_env()
    if "base_url" in params:
        return params
    name = os.environ.get("DOCKER_CONTEXT") or None
    try:
        context = ContextAPI.get_context(name)
    except docker.errors.DockerException as error:
        raise EngineUnavailable(f"Docker context {name or '(current)'}: {error}") from None
    if context is None and name:
        host = _context_host(name)
        if host:
            return {"base_url": host}
    if context is None:
        raise EngineUnavailable(
            f"DOCKER_CONTEXT={name}: no such Docker context",
            hint="`docker context ls` lists them; unset DOCKER_CONTEXT for the local engine",
        )
    if context.Host:
        params["base_url"] = context.Host
    if context.TLSConfig is not None:
        params["tls"] = context.TLSConfig
    return params


def _docker_config() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def _current_context() -> str | None:
    """The context `docker context use` chose (config.json's currentContext), if any."""
    try:
        config = json.loads((_docker_config() / "config.json").read_text())
    except (OSError, ValueError):
        return None
    found = config.get("currentContext") if isinstance(config, dict) else None
    return str(found) if found else None


def _context_host(name: str) -> str | None:
    """The engine address of context `name` as the Docker CLI stores it (docker-py finds no
    context when the Docker config folder has no config.json, which `docker context create`
    does not make)."""
    import hashlib  # rare: only with a context chosen

    folder = _docker_config()
    digest = hashlib.sha256(name.encode()).hexdigest()
    try:
        meta = json.loads((folder / "contexts" / "meta" / digest / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    host = ((meta.get("Endpoints") or {}).get("docker") or {}).get("Host")
    return str(host) if host else None


class DockerEngine:
    """The real engine, over the socket that DOCKER_HOST (or the default) names."""

    def __init__(
        self,
        timeout: int = 300,
        base_url: str | None = None,
        client: docker.APIClient | None = None,
    ) -> None:
        """The engine `base_url` names (unix://..., tcp://..., ssh://...), else DOCKER_HOST's
        (or the Docker context's). ssh:// goes through an OpenSSH tunnel (local.ssh_tunnel).

        With `client` (a docker-py client made elsewhere, e.g. over docker-py's own ssh
        transports), every call goes through it and `base_url` is only the address reported;
        close() leaves it open for its owner."""
        self.tunnel: ssh_tunnel.Tunnel | None = None
        self._timeout = timeout
        self._api: docker.APIClient | None = client
        self._owns_api = client is None
        self._identity = ""
        if client is not None:
            self.address = base_url or str(client.base_url)
            self._params: dict[str, Any] = {}
            self._socket_path: str | None = None
            return
        params = engine_params(base_url)
        self.address = str(params.get("base_url") or "unix:///var/run/docker.sock")
        if self.address.startswith("ssh://"):
            self.tunnel = ssh_tunnel.engine_tunnel(self.address)
            params = {"base_url": self.tunnel.local_url}
        self._params = params
        # The unix socket the plain reads go through (None: every call through docker-py).
        url = str(params.get("base_url") or "unix:///var/run/docker.sock")
        plain = not params.get("tls") and url.startswith(("unix://", "http+unix://"))
        self._socket_path = url.split("://", 1)[1] if plain else None

    @property
    def api(self) -> docker.APIClient:
        """docker-py's client, made (and docker-py loaded) at the first call that needs it."""
        if self._api is None:
            with translated("connecting"):
                self._api = docker.APIClient(
                    version=API_VERSION, timeout=self._timeout, **self._params
                )
        return self._api

    def where(self) -> str:
        return self.address

    @property
    def socket_path(self) -> str | None:
        """The unix socket the reads go through (None when every call goes through docker-py)."""
        return self._socket_path

    def close(self) -> None:
        if self._api is not None and self._owns_api:
            self._api.close()
        if self.tunnel is not None:
            self.tunnel.close()

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        action: str,
        body: bytes = b"",
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> tuple[int, str, dict[str, str], bytes]:
        """One request: over the unix socket with plain HTTP when there is one (no docker-py),
        else through docker-py's session (tcp://, TLS). Its status, reason, headers (by
        lowercase name) and body; an unreachable engine raises as every engine call does."""
        timeout = timeout or self._timeout
        if self._socket_path is None:
            with translated(action):
                answer = self.api.request(
                    method, self.api._url(path), params=params, timeout=timeout,
                    data=body or None, headers={"Content-Type": content_type} if body else None,
                )  # fmt: skip
            headers = {key.lower(): value for key, value in answer.headers.items()}
            return answer.status_code, answer.reason, headers, answer.content
        reader = wire.Reader(self._socket_path, timeout)
        try:
            return reader.request(method, path, params, body, content_type)
        except TimeoutError as error:
            raise EngineError(f"{action}: the engine's answer failed: {error}") from None
        except ValueError as error:
            raise EngineError(f"{action}: the engine's answer is not HTTP: {error}") from None
        except OSError as error:
            raise _unreachable(action, error) from None
        finally:
            reader.close()

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        action: str,
        *,
        body: bytes = b"",
        content_type: str = "application/json",
        timeout: float | None = None,
        missing_ok: bool = False,
        raw: bool = False,
    ) -> Any:
        """A request and its answer: JSON, text, or None (204, or a 404 with `missing_ok`);
        with `raw`, the body's bytes as they came. NotFound (404) or EngineError (any other
        refusal) saying `action`."""
        status, reason, headers, answer = self._request(
            method, path, params, action, body, content_type, timeout
        )
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            raise _refusal(status, reason, answer, action)
        if raw:
            return answer
        if not answer:
            return None
        if headers.get("content-type", "").startswith("application/json"):
            return json.loads(answer)
        return answer.decode(errors="replace")

    def _get_json(self, path: str, params: dict[str, Any], action: str) -> Any:
        """GET `path`: its JSON (text when it is not JSON); NotFound (404) or EngineError."""
        return self._call("GET", path, params, action)

    def ping(self) -> None:
        try:
            self._get_json("/_ping", {}, "ping")
        except EngineUnavailable as error:
            if self.tunnel is None:
                raise
            if not self.tunnel.alive():
                raise self.tunnel.failure() from None
            raise EngineUnavailable(
                f"cannot reach the Docker engine at {self.tunnel.address.url}",
                hint=ssh_tunnel.tunnel_hint(self.tunnel.messages() or str(error),
                                            self.tunnel.address),
            ) from None  # fmt: skip

    def identity(self) -> str:
        if not self._identity:
            info = self._get_json("/info", {}, "reading the engine's id")
            self._identity = str(info.get("ID") or "")
        return self._identity

    def _listed(self, label_filter: dict[str, list[str]]) -> list[dict[str, Any]]:
        query = {"all": 1, "filters": json.dumps(label_filter)}
        found: list[dict[str, Any]] = self._get_json(
            "/containers/json", query, "listing containers"
        )
        return found

    # -- containers ---------------------------------------------------------------------------

    def containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]:
        listed = self._listed(label_filter)

        def inspect(container_id: str) -> ContainerInfo | None:
            try:
                return self.inspect_container(container_id)
            except NotFound:
                return None  # removed between the list and the inspect

        ids = [item["Id"] for item in listed]
        if len(ids) <= 1:
            found = [inspect(i) for i in ids]
        else:  # one round trip's time for all of them
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(8, len(ids))) as pool:
                found = list(pool.map(inspect, ids))
        return [info for info in found if info is not None]

    def listed_containers(self, label_filter: dict[str, list[str]]) -> list[ContainerInfo]:
        return [listed_info(item) for item in self._listed(label_filter)]

    def inspect_container(self, container_id: str) -> ContainerInfo:
        action = f"inspecting container {container_id[:12]}"
        data = self._get_json(f"/containers/{quote(container_id, safe='')}/json", {}, action)
        return container_info(data)

    def create_container(self, plan: ContainerPlan) -> str:
        with translated(f"creating container {plan.name}"):
            created = self.api.create_container_from_config(plan.body, name=plan.name)
            container_id: str = created["Id"]
            for network, aliases, fixed in plan.extra_networks:
                self.api.connect_container_to_network(
                    container_id, network, aliases=aliases,
                    ipv4_address=fixed.get("IPv4Address"), ipv6_address=fixed.get("IPv6Address"),
                )  # fmt: skip
            try:
                self._write_files(container_id, plan)
            except BaseException:
                self.remove_container(container_id)  # never left half-made
                raise
        return container_id

    def _write_files(self, container_id: str, plan: ContainerPlan) -> None:
        # The engine keeps each archived file's owner and mode (no copyUIDGID).
        if plan.files and not plan.body["HostConfig"].get("ReadonlyRootfs"):
            self.api.put_archive(container_id, "/", archive.tar_of(plan.files))
        elif plan.files:
            # A read-only root takes files only inside its volumes: one archive per folder.
            for folder, files in archive.by_folder(plan.files).items():
                self.api.put_archive(
                    container_id, folder, archive.tar_of(files, relative_to=folder)
                )

    def start(self, container_id: str) -> None:
        with translated(f"starting container {container_id[:12]}"):
            self.api.start(container_id)

    def stop(self, container_id: str, timeout: int | None = None) -> None:
        # With no timeout the engine waits the container's own StopTimeout (its grace period).
        # 304: it was not running.
        self._call(
            "POST", f"/containers/{quote(container_id, safe='')}/stop",
            {} if timeout is None else {"t": timeout}, f"stopping container {container_id[:12]}",
            timeout=self._timeout + (timeout or 0),
        )  # fmt: skip

    def remove_container(self, container_id: str) -> None:
        self._call(
            "DELETE", f"/containers/{quote(container_id, safe='')}", {"v": 1, "force": 1},
            f"removing container {container_id[:12]}", missing_ok=True,
        )  # fmt: skip

    def rename(self, container_id: str, name: str) -> None:
        with translated(f"renaming container {container_id[:12]} to {name}"):
            self.api.rename(container_id, name)

    def logs_tail(self, container_id: str, lines: int) -> str:
        with translated(f"reading logs of {container_id[:12]}"):
            raw: bytes = self.api.logs(container_id, tail=lines, stdout=True, stderr=True)
        return raw.decode(errors="replace")

    def exec(
        self,
        container_id: str,
        command: list[str],
        *,
        user: str | None = None,
        workdir: str | None = None,
    ) -> tuple[int, str]:
        with translated(f"running {command[0]} in {container_id[:12]}"):
            created = self.api.exec_create(container_id, command, user=user or "", workdir=workdir)
            output: bytes = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"])["ExitCode"]
        return exit_code(code), output.decode(errors="replace")

    def put_archive(self, container_id: str, folder: str, data: bytes) -> None:
        with translated(f"copying files into {container_id[:12]}:{folder}"):
            self.api.put_archive(container_id, folder, data)

    # -- networks -----------------------------------------------------------------------------

    def networks(self, label_filter: dict[str, list[str]]) -> list[NetworkInfo]:
        query = {"filters": json.dumps(label_filter)}
        listed = self._get_json("/networks", query, "listing networks")
        return [NetworkInfo(n["Id"], n["Name"], n.get("Labels") or {}) for n in listed]

    def create_network(
        self,
        name: str,
        driver: str,
        internal: bool,
        labels: dict[str, str],
        ipam: dict[str, Any] | None = None,
        enable_ipv6: bool = False,
        attachable: bool = False,
    ) -> str:
        with translated(f"creating network {name}"):
            created = self.api.create_network(
                name,
                driver=driver,
                internal=internal,
                labels=labels,
                check_duplicate=True,
                ipam=ipam,
                enable_ipv6=enable_ipv6,
                attachable=attachable or None,
            )
        return str(created["Id"])

    def remove_network(self, network_id: str) -> None:
        self._call(
            "DELETE", f"/networks/{quote(network_id, safe='')}", {},
            f"removing network {network_id[:12]}", missing_ok=True,
        )  # fmt: skip

    def release_stale_endpoints(self, network_id: str) -> list[str]:
        freed: list[str] = []
        with translated(f"inspecting network {network_id[:12]}"):
            try:
                attached = self.api.inspect_network(network_id).get("Containers") or {}
            except docker.errors.NotFound:
                return freed
        for key, endpoint in attached.items():
            name = str((endpoint or {}).get("Name") or key)
            try:
                self.inspect_container(key)
                continue  # a live container: not ours to cut off
            except NotFound:
                pass
            with translated(f"disconnecting {name} from network {network_id[:12]}"):
                try:
                    self.api.disconnect_container_from_network(name, network_id, force=True)
                except docker.errors.NotFound:
                    continue
            freed.append(name)
        return freed

    # -- volumes ------------------------------------------------------------------------------

    def volumes(self, label_filter: dict[str, list[str]]) -> list[VolumeInfo]:
        query = {"filters": json.dumps(label_filter)}
        listed = self._get_json("/volumes", query, "listing volumes").get("Volumes") or []
        return [VolumeInfo(v["Name"], v.get("Labels") or {}) for v in listed]

    def create_volume(
        self, name: str, driver: str, options: dict[str, str], labels: dict[str, str]
    ) -> None:
        with translated(f"creating volume {name}"):
            self.api.create_volume(name, driver=driver, driver_opts=options, labels=labels)

    def remove_volume(self, name: str) -> None:
        self._call(
            "DELETE", f"/volumes/{quote(name, safe='')}", {}, f"removing volume {name}",
            missing_ok=True,
        )  # fmt: skip

    # -- images -------------------------------------------------------------------------------

    def image_id(self, reference: str) -> str | None:
        with translated(f"inspecting image {reference}"):
            try:
                return str(self.api.inspect_image(reference)["Id"])
            except docker.errors.NotFound:
                return None

    def images(self, label_filter: dict[str, list[str]]) -> list[str]:
        """Tags (repo:tag) of the images that match the filter."""
        query = {"filters": json.dumps(label_filter)}
        listed = self._get_json("/images/json", query, "listing images")
        return sorted(tag for image in listed for tag in image.get("RepoTags") or [])

    def remove_image(self, reference: str) -> None:
        self._call(
            "DELETE", f"/images/{quote(reference, safe='')}", {}, f"removing image {reference}",
            missing_ok=True,
        )  # fmt: skip

    def pull(self, reference: str) -> None:
        repository, _, tag = (
            reference.rpartition(":")
            if ":" in reference.split("/")[-1]
            else (reference, "", "latest")
        )
        try:
            with translated(f"pulling {reference}"):
                self.api.pull(repository, tag=tag)
        except (EngineError, NotFound) as error:  # a registry's refusal is an image problem
            raise ImageError(f"cannot pull {reference}: {error.message}") from None

    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        args: dict[str, str],
        target: str | None,
        labels: dict[str, str],
        on_output: Callable[[str], None],
        no_cache: bool = False,
    ) -> str:
        tail: list[str] = []
        with translated(f"building {tag}"), _packing(context, tag):
            stream = self.api.build(
                path=str(context),
                dockerfile=dockerfile,
                tag=tag,
                buildargs=args,
                target=target,
                labels=labels,
                rm=True,
                forcerm=True,
                nocache=no_cache,
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk:
                    raise ImageError(
                        f"building {tag} failed: {str(chunk['error']).strip()}",
                        hint="the build output above shows the failing step\n"
                        + "".join(tail[-10:]),
                    )
                text = chunk.get("stream")
                if text:
                    tail.append(text)
                    on_output(text)
        image = self.image_id(tag)
        if image is None:
            raise ImageError(f"building {tag} finished but the engine has no such image")
        return image

    def load_image(self, archive: Path, reference: str) -> str:
        with translated(f"loading {reference}"), archive.open("rb") as data:
            for chunk in self.api.load_image(data, quiet=True):
                if "error" in chunk:
                    raise ImageError(f"loading {reference}: {chunk['error']}")
        image = self.image_id(reference)
        if image is None:
            raise ImageError(f"loading {reference} finished but the engine has no such image")
        return image

    # -- swarm: services, tasks, configs, secrets, pushing images ------------------------------

    def swarm(self) -> SwarmInfo:
        from deployer.core.swarm_objects import SwarmInfo  # only a swarm's calls

        with translated("reading the engine's swarm state"):
            info = self.api.info().get("Swarm") or {}
        return SwarmInfo(
            state=str(info.get("LocalNodeState") or "inactive"),
            manager=bool(info.get("ControlAvailable")),
            nodes=int(info.get("Nodes") or 0),
        )

    def services(self, label_filter: dict[str, list[str]]) -> list[ServiceInfo]:
        with translated("listing services"):
            listed = self.api.services(filters=label_filter)
        return [_service_info(raw) for raw in listed]

    def create_service(self, spec: dict[str, Any]) -> str:
        # The raw Engine API body: deployer renders the whole ServiceSpec itself.
        with translated(f"creating service {spec.get('Name')}"):
            url = self.api._url("/services/create")
            response = self.api._post_json(url, data=spec, headers=self._pull_auth(spec))
            created = self.api._result(response, json=True)
        return str(created["ID"])

    def update_service(self, service_id: str, version: int, spec: dict[str, Any]) -> None:
        with translated(f"updating service {spec.get('Name')}"):
            url = self.api._url("/services/{0}/update", service_id)
            response = self.api._post_json(
                url, data=spec, params={"version": version}, headers=self._pull_auth(spec)
            )
            self.api._raise_for_status(response)

    def _registry_auth(self, reference: str) -> dict[str, str] | None:
        """The password for the registry an image reference names: deployer's own (the test
        cluster's), else the Docker config's (`docker login`)."""
        from deployer.local import registries  # only pushes and swarm services need it

        registry, _ = docker.auth.resolve_repository_name(reference.partition("@")[0])
        kept = registries.credentials(registry)
        if kept:
            return {k: kept[k] for k in ("username", "password", "serveraddress") if k in kept}
        found = docker.auth.resolve_authconfig(self.api._auth_configs, registry)
        return dict(found) if found else None

    def _pull_auth(self, spec: dict[str, Any]) -> dict[str, str]:
        """The header that lets every node pull the service's image (docker stack deploy's
        --with-registry-auth); the swarm keeps it, encrypted, for the tasks' pulls."""
        image = str(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", ""))
        auth = self._registry_auth(image) if image else None
        return {"X-Registry-Auth": docker.auth.encode_header(auth).decode()} if auth else {}

    def remove_service(self, service_id: str) -> None:
        # Gone already is what removing wanted.
        with translated(f"removing service {service_id[:12]}"), suppress(docker.errors.NotFound):
            self.api.remove_service(service_id)

    def tasks(self, service_ids: list[str]) -> list[TaskInfo]:
        if not service_ids:
            return []
        # A removed service's tasks go with it: asking for them is "not found", meaning none.
        with translated("listing tasks"), suppress(docker.errors.NotFound):
            listed = self.api.tasks(filters={"service": service_ids})
            return [_task_info(raw) for raw in listed]
        return []

    def nodes(self) -> list[NodeInfo]:
        from deployer.core.swarm_objects import NodeInfo  # only a swarm's calls

        with translated("listing swarm nodes"):
            listed = self.api.nodes()
        return [
            NodeInfo(
                id=raw["ID"],
                hostname=(raw.get("Description") or {}).get("Hostname", raw["ID"][:12]),
                state=str((raw.get("Status") or {}).get("State") or ""),
                availability=str((raw.get("Spec") or {}).get("Availability") or ""),
                labels=(raw.get("Spec") or {}).get("Labels") or {},
            )
            for raw in listed
        ]

    def swarm_objects(self, kind: str, label_filter: dict[str, list[str]]) -> list[SwarmObject]:
        """The swarm's configs or secrets (kind "config" or "secret") carrying the labels."""
        from deployer.core.swarm_objects import SwarmObject  # only a swarm's calls

        with translated(f"listing {kind}s"):
            listed = (self.api.configs if kind == "config" else self.api.secrets)(
                filters=label_filter
            )
        return [
            SwarmObject(raw["ID"], raw["Spec"]["Name"], raw["Spec"].get("Labels") or {})
            for raw in listed
        ]

    def create_swarm_object(self, kind: str, name: str, data: bytes, labels: dict[str, str]) -> str:
        with translated(f"creating {kind} {name}"):
            create = self.api.create_config if kind == "config" else self.api.create_secret
            created = create(name, data, labels=labels)
        return str(created["ID"])

    def remove_swarm_object(self, kind: str, object_id: str) -> None:
        with translated(f"removing {kind} {object_id[:12]}"), suppress(docker.errors.NotFound):
            (self.api.remove_config if kind == "config" else self.api.remove_secret)(object_id)

    def push(self, image: str, repository: str, tag: str) -> str:
        """Tag `image` as repository:tag and push it; the digest the registry gave it."""
        with translated(f"pushing {repository}:{tag}"):
            self.api.tag(image, repository, tag)
            digest = ""
            auth = self._registry_auth(repository)
            pushing = self.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth)
            for line in pushing:
                if line.get("error"):
                    raise ImageError(
                        f"pushing {repository}:{tag}: {line['error']}",
                        hint="is the registry up and reachable from this engine? "
                        "(`python -m deployer cluster status` for the test cluster's)",
                    )
                digest = (line.get("aux") or {}).get("Digest", digest)
        if not digest:
            raise ImageError(f"pushing {repository}:{tag}: the registry named no digest")
        return str(digest)

    # -- streams and sessions ------------------------------------------------------------------

    def log_stream(
        self,
        container_id: str,
        *,
        follow: bool,
        since: float | None,
        tail: int | None,
        until: float | None = None,
    ) -> Iterator[str]:
        action = f"reading logs of {container_id[:12]}"
        if self._socket_path is not None and not follow:  # one answer: plain HTTP is enough
            yield from _lines(iter([self._logs(container_id, since, tail, until, action)]))
            return
        with translated(action):
            chunks = self.api.logs(
                container_id, stream=True, follow=follow, timestamps=True,
                since=since, until=until, tail="all" if tail is None else tail,
            )  # fmt: skip
            yield from _lines(chunks)

    def _logs(
        self,
        container_id: str,
        since: float | None,
        tail: int | None,
        until: float | None,
        action: str,
    ) -> bytes:
        """A container's lines so far (stdout and stderr as they came, with their times)."""
        path = f"/containers/{quote(container_id, safe='')}"
        tty = bool((self._get_json(f"{path}/json", {}, action).get("Config") or {}).get("Tty"))
        params: dict[str, Any] = {
            "stdout": 1, "stderr": 1, "timestamps": 1, "tail": "all" if tail is None else tail,
        }  # fmt: skip
        if since:
            params["since"] = since
        if until:
            params["until"] = until
        answer: bytes = self._call("GET", f"{path}/logs", params, action, raw=True)
        return answer if tty else wire.demultiplexed(answer)

    def service_log_stream(
        self, service_id: str, *, follow: bool, since: float | None, tail: int | None
    ) -> Iterator[str]:
        with translated(f"reading logs of service {service_id[:12]}"):
            # details: each line names its task and node (the manager gathers them from nodes)
            chunks = self.api.service_logs(
                service_id, details=True, follow=follow, stdout=True, stderr=True,
                since=since or 0, timestamps=True, tail="all" if tail is None else tail,
            )  # fmt: skip
            yield from _lines(chunks)

    def stats(self, container_id: str) -> ContainerStats:
        with translated(f"reading stats of {container_id[:12]}"):
            data: dict[str, Any] = self.api.stats(container_id, stream=False)
        return stats_of(data)

    def wait(self, container_id: str) -> int:
        with translated(f"waiting for container {container_id[:12]}"):
            result = self.api.wait(container_id, timeout=None)
        return int(result.get("StatusCode", 1))

    def exec_session(
        self,
        container_id: str,
        command: list[str],
        *,
        tty: bool,
        stdin: bool,
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Session:
        with translated(f"running {command[0] if command else 'a command'} in {container_id[:12]}"):
            created = self.api.exec_create(
                container_id, command, stdin=stdin, tty=tty, user=user or "",
                workdir=workdir, environment=env or None,
            )  # fmt: skip
            raw = self.api.exec_start(created["Id"], tty=tty, socket=True)
        return Session(_raw_socket(raw), tty=tty, exec_id=created["Id"])

    def attach_session(self, container_id: str, *, tty: bool) -> Session:
        with translated(f"attaching to container {container_id[:12]}"):
            raw = self.api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
        return Session(_raw_socket(raw), tty=tty)

    def resize(self, session: Session, container_id: str, height: int, width: int) -> None:
        with translated("resizing the terminal"):
            if session.exec_id:
                self.api.exec_resize(session.exec_id, height=height, width=width)
            else:
                self.api.resize(container_id, height=height, width=width)

    def exec_exit_code(self, session: Session) -> int:
        with translated("reading the exit code"):
            code = self.api.exec_inspect(session.exec_id).get("ExitCode")
        return exit_code(code)

    def path_stat(self, container_id: str, path: str) -> PathStat | None:
        # HEAD of the archive endpoint: the engine stats the path; nothing is copied or run.
        action = f"checking {path} in {container_id[:12]}"
        route = f"/containers/{quote(container_id, safe='')}/archive"
        status, reason, headers, _ = self._request("HEAD", route, {"path": path}, action)
        header = headers.get("x-docker-container-path-stat", "")
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(f"{action}: {reason}")
        data = json.loads(base64.b64decode(header)) if header else {}
        return PathStat(name=str(data.get("name", "")), link_target=str(data.get("linkTarget", "")))

    # -- the deploy lock's marker (deployer.deploy.lock) ---------------------------------------

    def claim(self, name: str, labels: dict[str, str]) -> str | None:
        action = f"taking the lock {name}"
        body = json.dumps({
            "Image": LOCK_IMAGE, "Cmd": ["lock"], "Labels": labels, "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none"},
        }).encode()  # fmt: skip
        for attempt in range(2):
            status, _, _, answer = self._request(
                "POST", "/containers/create", {"name": name}, action, body
            )
            if status == 409:  # a marker of that name: another deploy holds the lock
                return None
            if status == 404 and attempt == 0:  # no marker image here yet
                self._import_lock_image()
                continue
            if status >= 400:
                raise _refusal(status, str(status), answer, action)
            return str(json.loads(answer)["Id"])
        raise EngineError(f"{action}: the engine has no {LOCK_IMAGE}")

    def _import_lock_image(self) -> None:
        repository, _, tag = LOCK_IMAGE.partition(":")
        answer = self._call(
            "POST", "/images/create",
            {"fromSrc": "-", "repo": repository, "tag": tag,
             "changes": [f"LABEL {LOCK}=image", 'CMD ["lock"]']},
            f"importing {LOCK_IMAGE}", body=archive.single_file(LEASE_FILE, b"0", mode=0o644),
            content_type="application/x-tar",
        )  # fmt: skip
        if isinstance(answer, str) and '"error"' in answer:  # a stream of progress lines
            raise EngineError(f"importing {LOCK_IMAGE}: {answer.strip()[-300:]}")

    def claim_info(self, name: str) -> Claim | None:
        action = f"reading the lock {name}"
        found = self._call(
            "GET", f"/containers/{quote(name, safe='')}/json", {}, action, missing_ok=True
        )
        if found is None:
            return None
        marker = quote(found["Id"], safe="")
        try:
            answer = self._call(
                "GET", f"/containers/{marker}/archive", {"path": f"/{LEASE_FILE}"}, action,
                missing_ok=True, raw=True,
            )  # fmt: skip
        except EngineError:
            # Read while its holder removes it, the engine may refuse with other than a 404
            # (its file system already unmounted): released meanwhile, if it is going.
            if self._marker_going(marker, action):
                return None
            raise
        if answer is None:
            return None  # released meanwhile
        text = archive.read_single_file(answer)
        config = found.get("Config") or {}
        return Claim(
            id=found["Id"],
            labels=config.get("Labels") or {},
            lease=int(text) if text.strip().isdigit() else 0,
        )

    def _marker_going(self, marker: str, action: str) -> bool:
        """Whether the lock's marker is gone or being removed."""
        found = self._call("GET", f"/containers/{marker}/json", {}, action, missing_ok=True)
        return found is None or (found.get("State") or {}).get("Status") in {"removing", "dead"}

    def renew_claim(self, claim_id: str, lease: int) -> None:
        self._call(
            "PUT", f"/containers/{quote(claim_id, safe='')}/archive", {"path": "/"},
            "renewing the deploy lock",
            body=archive.single_file(LEASE_FILE, str(lease).encode(), mode=0o644),
            content_type="application/x-tar",
        )  # fmt: skip

    def release_claim(self, claim_id: str) -> None:
        self._call(
            "DELETE", f"/containers/{quote(claim_id, safe='')}", {"force": 1},
            "releasing the deploy lock", missing_ok=True,
        )  # fmt: skip


def _refusal(status: int, reason: str, answer: bytes, action: str) -> DeployerError:
    """An engine's refusal (4xx, 5xx) as deployer's error, in the engine's own words."""
    try:
        message = str(json.loads(answer).get("message") or reason)
    except (ValueError, AttributeError):
        message = answer.decode(errors="replace").strip() or reason
    if status == 404:
        return NotFound(f"{action}: {message}")
    return EngineError(f"{action}: {message}", hint=_hint_for(message))


def _raw_socket(raw: Any) -> socket.socket:
    """docker-py hands back a SocketIO around the connection; the socket is what we pump."""
    found = getattr(raw, "_sock", raw)
    assert isinstance(found, socket.socket), type(found)
    return found


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """A log stream's chunks as whole lines (a chunk can end mid-line)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode(errors="replace")
    if pending:
        yield pending.decode(errors="replace")


def _service_info(raw: dict[str, Any]) -> ServiceInfo:
    from deployer.core.swarm_objects import ServiceInfo  # only a swarm's calls

    spec = raw.get("Spec") or {}
    status = raw.get("UpdateStatus") or {}
    return ServiceInfo(
        id=raw["ID"],
        name=spec.get("Name", ""),
        version=int((raw.get("Version") or {}).get("Index", 0)),
        labels=spec.get("Labels") or {},
        spec=spec,
        update_state=str(status.get("State") or ""),
        update_message=str(status.get("Message") or ""),
        update_started=str(status.get("StartedAt") or ""),
        previous_spec=raw.get("PreviousSpec"),
    )


def _task_info(raw: dict[str, Any]) -> TaskInfo:
    from deployer.core.swarm_objects import TaskInfo  # only a swarm's calls

    status = raw.get("Status") or {}
    container = (raw.get("Spec") or {}).get("ContainerSpec") or {}
    return TaskInfo(
        id=raw["ID"],
        service_id=raw.get("ServiceID", ""),
        slot=int(raw.get("Slot") or 0),
        node_id=raw.get("NodeID", ""),
        state=str(status.get("State") or ""),
        desired_state=str(raw.get("DesiredState") or ""),
        message=str(status.get("Message") or ""),
        error=str(status.get("Err") or ""),
        image=str(container.get("Image") or ""),
        container_id=str((status.get("ContainerStatus") or {}).get("ContainerID") or ""),
        timestamp=str(status.get("Timestamp") or ""),
        config_hash=str((container.get("Labels") or {}).get(labels.CONFIG_HASH, "")),
    )


def connect(address: str | None = None) -> DockerEngine:
    """The engine `address` names, else the one chosen for this process (-H, the stack's
    `engine`), else DOCKER_HOST's (or the context's, or the default socket); raises if none
    answers."""
    engine = DockerEngine(base_url=address or chosen_address())
    engine.ping()
    return engine
