"""Every label key and resource name deployer writes on the engine, defined once.

State is read back from these labels only: there is no state file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deployer.model.spec import Stack

PREFIX = "io.deployer"
STACK = f"{PREFIX}.stack"
SERVICE = f"{PREFIX}.service"
REPLICA = f"{PREFIX}.replica"
NETWORK = f"{PREFIX}.network"
CONFIG_HASH = f"{PREFIX}.config-hash"
# Per-field digests behind the hash ("env=1a2b3c4d,..."), so a plan can name what changed.
CONFIG_FIELDS = f"{PREFIX}.config-fields"
# Comma-separated services this one depends on: lets `down` order itself without stack.py.
DEPENDS_ON = f"{PREFIX}.depends-on"
# On images deployer builds. Distinct keys from the container ones on purpose: the engine copies
# image labels onto every container made from the image, by deployer or anyone else.
IMAGE_STACK = f"{PREFIX}.image.stack"
IMAGE_SERVICE = f"{PREFIX}.image.service"
# On a replica reached over a unix socket: the socket's path (its slot link points there).
SOCKET = f"{PREFIX}.socket"
VOLUME = f"{PREFIX}.volume"
# Where replicas and their proxy share sockets (a tmpfs volume), and the variable that tells
# a replica which path to listen on.
SOCKET_DIR = "/run/deployer-upstream"
# A small tmpfs, shared by the containers that mount it, writable by any user.
SOCKET_VOLUME_OPTIONS = {"type": "tmpfs", "device": "tmpfs", "o": "mode=0777,size=1m"}
# Where a proxy's rendered nginx config lives: a volume per proxy service, so the root
# filesystem can stay read-only and a restarted nginx finds the config it last reloaded.
PROXY_CONFIG_DIR = "/etc/deployer-nginx"
PROXY_CONFIG = f"{PROXY_CONFIG_DIR}/nginx.conf"
# nginx resolves a relative `include` against the config's folder: these point back to nginx's
# own files, so a template includes `mime.types` or `uwsgi_params` as it would in /etc/nginx.
NGINX_SHARED_FILES = (
    "conf.d", "fastcgi.conf", "fastcgi_params", "koi-utf", "koi-win", "mime.types",
    "modules-enabled", "proxy_params", "scgi_params", "sites-enabled", "snippets",
    "uwsgi_params", "win-utf",
)  # fmt: skip
# "socket" and "config" volumes are deployer's own and go with `down`; "data" volumes
# (Stack.volumes) hold the user's data and go only with `down --volumes`.
VOLUME_KIND = f"{PREFIX}.volume-kind"
SOCKET_ENV = "DEPLOYER_SOCKET"
# The slot path a socket-reached replica claims for itself when nothing routes there (after an
# engine restart empties the socket volume, say): read by its healthcheck.
SLOT_ENV = "DEPLOYER_SLOT"
# The service as a container runs it, and the one it replaced, as JSON: what `rollback` returns
# to. In the container's own environment, not in labels: a spec holds env values and whatever
# the stack took from the shell, and labels are copied into logs, metrics and `docker ps`.
SPEC_ENV = "DEPLOYER_SPEC"
PREVIOUS_SPEC_ENV = "DEPLOYER_PREVIOUS_SPEC"
# On a proxy that reaches its upstream over unix sockets: that upstream's service name, so the
# routes (slot links) can be checked from labels alone.
ROUTES = f"{PREFIX}.routes"
# On a one-off container (`run`): the service it runs for. It is no replica: reconcile, status
# and the proxies never see it; `down`, the reaper and `gc` remove it with its stack.
ONE_OFF = f"{PREFIX}.one-off"
# The engine's own label on a swarm task's container: the swarm's, not the engine target's.
SWARM_TASK = "com.docker.swarm.task.id"
# Throwaway stacks (deployer.testing): which test session made them, so that its reaper, or
# `gc` later, can remove everything a killed session left.
SESSION = f"{PREFIX}.session"
THROWAWAY = f"{PREFIX}.throwaway"
REAPER = f"{PREFIX}.reaper"
# A swarm reaper's: the manager's API socket it reaches its cluster through (`cluster down`
# removes such reapers: with the cluster gone they have nothing left to reap).
REAPER_SWARM = f"{PREFIX}.reaper.swarm"
# Which base image a deployer-built base image is (python, nginx), for `images` listing.
BASE_IMAGE = f"{PREFIX}.base-image"
VERSION = f"{PREFIX}.version"
# The deploy lock (deployer.deploy.lock): a marker container per stack, never started, whose
# labels say who holds it. Its name has a dot, which no stack's container names have.
LOCK = f"{PREFIX}.lock"
LOCK_PID = f"{PREFIX}.lock.pid"
LOCK_HOST = f"{PREFIX}.lock.host"
LOCK_MACHINE = f"{PREFIX}.lock.machine"
LOCK_SINCE = f"{PREFIX}.lock.since"
LOCK_WHAT = f"{PREFIX}.lock.what"
# The marker's image: one small file (the lease), imported when an engine lacks it.
LOCK_IMAGE = "deployer/lock:1"
LEASE_FILE = "lease"


def lock_name(stack: str) -> str:
    return f"deployer-lock.{stack}"


FORMAT_VERSION = "1"


def spec_env(spec: str, previous_spec: str) -> list[str]:
    """The container's own record of its spec and the one it replaced (see SPEC_ENV)."""
    found = [f"{SPEC_ENV}={spec}"] if spec else []
    return found + ([f"{PREVIOUS_SPEC_ENV}={previous_spec}"] if previous_spec else [])


def container_name(stack: str, service: str, replica: int) -> str:
    return f"{stack}-{service}-{replica}"


def next_container_name(
    stack: str, service: str, replica: int, config_hash: str, taken: frozenset[str] = frozenset()
) -> str:
    """Name of a replica's successor while both run (start-first); renamed once the old is gone.

    `taken`: names the service's containers were created under (their sockets are named after
    them). A forced recreation has the same config hash as the replica it replaces, which was
    created under this very name: a numbered one keeps the two sockets apart."""
    base = f"{container_name(stack, service, replica)}-{config_hash[:8]}"
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}-{count}"
    return name


def one_off_name(stack: str, service: str, suffix: str) -> str:
    return f"{stack}-{service}-run-{suffix}"


def socket_volume(stack: str, upstream: str) -> str:
    return f"{stack}_{upstream}-sockets"


def config_volume(stack: str, proxy: str) -> str:
    return f"{stack}_{proxy}-config"


def socket_path(container: str) -> str:
    """The socket a container listens on, named after the container as it was created."""
    return f"{SOCKET_DIR}/{container}.sock"


def slot_path(replica: int) -> str:
    """The stable path nginx connects to for one replica slot (a symlink to a socket_path)."""
    return f"{SOCKET_DIR}/slot-{replica}.sock"


def data_volume(stack: str, volume: str) -> str:
    return f"{stack}_{volume}"


def volume_labels(stack: str, volume: str, kind: str) -> dict[str, str]:
    return {STACK: stack, VOLUME: volume, VOLUME_KIND: kind, VERSION: FORMAT_VERSION}


def network_name(stack: str, network: str) -> str:
    return f"{stack}_{network}"


def engine_network(stack: Stack, network: str) -> str:
    """The engine's name of a stack network: deployer's own, or an external one's."""
    for declared in stack.networks:
        if declared.name == network and declared.external:
            return declared.engine_name or declared.name
    return network_name(stack.name, network)


def engine_volume(stack: Stack, volume: str) -> str:
    """The engine's name of a stack volume: deployer's own, or an external one's."""
    for declared in stack.volumes:
        if declared.name == volume and declared.external:
            return declared.engine_name or declared.name
    return data_volume(stack.name, volume)


def image_repository(stack: str, service: str) -> str:
    """Repository of images deployer builds for a service; the tag is the build's content hash."""
    return f"{stack}-{service}".lower()  # repositories are lower-case; service names may not be


def stack_filter(stack: str) -> dict[str, list[str]]:
    """Engine list filter that matches every container and network of one stack."""
    return {"label": [f"{STACK}={stack}"]}


def image_filter(stack: str) -> dict[str, list[str]]:
    """Engine list filter that matches the images deployer built for one stack."""
    return {"label": [f"{IMAGE_STACK}={stack}"]}


def image_labels(stack: str, service: str) -> dict[str, str]:
    return {IMAGE_STACK: stack, IMAGE_SERVICE: service}


def container_labels(
    stack: str,
    service: str,
    replica: int,
    config_hash: str,
    config_fields: str,
    depends_on: list[str],
) -> dict[str, str]:
    return {
        CONFIG_FIELDS: config_fields,
        STACK: stack,
        SERVICE: service,
        REPLICA: str(replica),
        CONFIG_HASH: config_hash,
        DEPENDS_ON: ",".join(sorted(depends_on)),
        VERSION: FORMAT_VERSION,
    }


def network_labels(stack: str, network: str) -> dict[str, str]:
    return {STACK: stack, NETWORK: network, VERSION: FORMAT_VERSION}


# Swarm nodes labelled so take the services that publish ports: on the test cluster, the one
# node whose ports reach the host's loopback. (Node labels, set with `docker node update`.)
EDGE_NODE = f"{PREFIX}.edge"
# The local test cluster's stack name (its nodes and registry are an ordinary deployer stack).
CLUSTER_STACK = "deployer-cluster"


def swarm_service_name(stack: str, service: str) -> str:
    """A stack's service on a Swarm (the name `docker stack deploy` would give it too)."""
    return f"{stack}_{service}"


def swarm_object_name(stack: str, kind: str, digest: str) -> str:
    """A config or secret: named by its content, since Swarm never changes one in place."""
    return f"{stack}_{kind}_{digest[:20]}"


def swarm_service_labels(stack: str, service: str, config_hash: str, fields: str) -> dict[str, str]:
    return {
        STACK: stack,
        SERVICE: service,
        CONFIG_HASH: config_hash,
        CONFIG_FIELDS: fields,
        VERSION: FORMAT_VERSION,
    }
