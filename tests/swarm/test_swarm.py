"""The default stack on a 3-node Swarm: spread, served through nginx, rolled without a lost
request, rolled back when an update fails, recovered after a node dies, removed everywhere."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer import swarm
from deployer.cluster import form, lifecycle
from deployer.core import labels
from deployer.core.events import quiet
from deployer.deploy.lock import DeployLock
from deployer.engine.docker_engine import DockerEngine
from deployer.engine.protocol import SwarmEngine
from deployer.local import registries
from deployer.model.errors import DeployFailed, LockBusy, NotFound, StackError
from deployer.model.spec import (
    Config,
    ConfigUse,
    Healthcheck,
    HttpProbe,
    Mount,
    Secret,
    SecretUse,
    Stack,
)
from deployer.stackfile.load import load
from deployer.targets.base import Request
from deployer.targets.swarm.target import SwarmTarget
from deployer.testing import swarm_throwaway
from deployer.testing.on_swarm import published_on_nodes
from tests.integration.conftest import ROOT, unique_name
from tests.integration.load import Load
from tests.swarm.conftest import FRONT_DOOR, leftovers, wait_until

pytestmark = pytest.mark.timeout(900)

CLIENTS = 4


def _stack(name: str) -> Stack:
    return published_on_nodes(load(ROOT / "stack.py").model_copy(update={"name": name}))


def _with_web(stack: Stack, **changes: object) -> Stack:
    return stack.with_service("web", **changes)


def _answer() -> dict[str, str]:
    with urllib.request.urlopen(FRONT_DOOR + "/", timeout=5) as response:
        return dict(json.loads(response.read()))


def _web_nodes(manager: SwarmEngine, stack: str) -> list[str]:
    return [t.node for t in swarm.status(stack, manager) if t.service == "web"]


def _errors(stack: Stack, manager: SwarmEngine) -> list[str]:
    """nginx's answers that were no success, and its error lines: what a failed test shows."""
    lines = swarm.logs(stack.name, ["nginx"], tail=2000, manager=manager)
    return [
        f"{line.time:%T.%f} {line.text}"
        for line in lines
        if line.time and ('"status":200' not in line.text or "[error]" in line.text)
    ][-30:]


def _wait_both_replicas_answer() -> None:
    """Until nginx has reached both web replicas: it looks tasks.web up per request, and a task
    on another node enters the edge node's DNS when the overlay's gossip brings it there,
    a moment after the swarm calls the task running."""
    hosts: set[str] = set()

    def both_answered() -> bool:
        hosts.add(_answer()["host"])
        return len(hosts) == 2

    wait_until(both_answered, 30, "both replicas answering through nginx")


@pytest.fixture
def deployed(
    engine: DockerEngine, manager: SwarmEngine, cluster: lifecycle.Cluster
) -> Iterator[tuple[Stack, swarm.Deployment]]:
    name = unique_name("sw")
    stack = _stack(name)
    try:
        deployment = swarm.up(stack, manager, engine, cluster.registry, quiet, timeout=300)
        yield stack, deployment
    finally:
        swarm.down(name, manager, quiet)
    # Each node's agent removes its task containers, then its end of the overlay network,
    # shortly after the manager let go of the service.
    seconds = wait_until(lambda: not leftovers(engine, name), 60, "nodes cleaned up")
    print(f"down: nodes held nothing of {name} {seconds:.1f}s after it returned")


def test_default_stack_spreads_over_nodes_and_serves(
    deployed: tuple[Stack, swarm.Deployment],
    engine: DockerEngine,
    manager: SwarmEngine,
    cluster: lifecycle.Cluster,
) -> None:
    stack, deployment = deployed
    assert [a.kind.value for a in deployment.plan.actions].count("create") == 2
    running = [t for t in deployment.replicas if t.state == "running"]
    assert sorted(t.service for t in running) == ["nginx", "web", "web"]
    assert {t.health for t in running} == {"healthy"}  # both services have healthchecks
    assert len(set(_web_nodes(manager, stack.name))) == 2  # one replica per node
    nginx_node = next(t.node for t in running if t.service == "nginx")
    assert nginx_node == "node1"  # the edge node: its 8080 is the host's 127.0.0.1:18080
    _wait_both_replicas_answer()
    assert _answer()["message"] == "Hello from deployer"
    # A second up changes nothing and says so.
    again = swarm.up(stack, manager, engine, cluster.registry, quiet)
    assert again.plan.empty
    assert swarm.plan(stack, manager, engine, cluster.registry).empty


def test_rolling_update_and_rollback_under_load_lose_no_request_and_a_failed_one_rolls_back(
    deployed: tuple[Stack, swarm.Deployment],
    engine: DockerEngine,
    manager: SwarmEngine,
    cluster: lifecycle.Cluster,
) -> None:
    stack, _ = deployed
    _wait_both_replicas_answer()
    changed = _with_web(stack, env={**stack.service("web").env, "APP_MESSAGE": "v2"})
    with Load(FRONT_DOOR + "/", clients=4) as load:
        load.wait_for(50)
        result = swarm.up(changed, manager, engine, cluster.registry, quiet, timeout=300)
        assert _answer()["message"] == "v2"
        back = swarm.rollback(stack.name, manager, quiet, timeout=300)
        load.wait_for(50)
    print(f"rolling update and rollback: {load.result.requests} requests, {load.failed} failed")
    assert [a.kind.value for a in result.plan.actions] == ["update"]
    assert [a.why() for a in back.plan.actions] == ["back to the previous spec: container.Env"]
    assert load.failed == 0, load.result.failures[:5]
    assert _answer()["message"] == "Hello from deployer"

    # Every task's lines (the replaced ones' too), gathered from the nodes, named by service,
    # slot and node, in time order.
    lines = [line for line in swarm.logs(stack.name, ["web"], tail=5, manager=manager)]
    named = [line.container for line in lines if line.time is not None]
    assert named and all(re.fullmatch(r"web\.[12]@node[123]", name) for name in named), named
    assert len({name.partition("@")[2] for name in named}) >= 2
    times = [line.time for line in lines if line.time is not None]
    assert times == sorted(times)

    # An update whose tasks never turn healthy: the swarm rolls it back by itself.
    broken = _with_web(
        stack,
        env={**stack.service("web").env, "APP_MESSAGE": "v3"},
        healthcheck=Healthcheck(
            http=HttpProbe(path="/no-such-page", port=8000), interval="1s", timeout="1s", retries=2
        ),
    )
    with pytest.raises(DeployFailed, match="rollback") as failed:
        swarm.up(broken, manager, engine, cluster.registry, quiet, timeout=300)
    print(failed.value)
    service = next(s for s in manager.services(labels.stack_filter(stack.name)) if "web" in s.name)
    assert "v3" not in " ".join(service.spec["TaskTemplate"]["ContainerSpec"]["Env"])
    assert _answer()["message"] == "Hello from deployer"
    # What the swarm rolled back is no version to return to.
    with pytest.raises(NotFound, match="no previous version"):
        swarm.rollback(stack.name, manager, quiet)


def test_a_killed_worker_node_is_replaced_under_load(
    deployed: tuple[Stack, swarm.Deployment],
    engine: DockerEngine,
    manager: SwarmEngine,
    docker_api: object,
) -> None:
    stack, _ = deployed
    victim = next(node for node in _web_nodes(manager, stack.name) if node != "node1")
    container = form.node_containers(engine)[victim]
    # Only a service that two replicas serve can lose one without losing a request.
    _wait_both_replicas_answer()
    try:
        with Load(FRONT_DOOR + "/", clients=CLIENTS, timeout=15) as load:
            load.wait_for(50)
            killed = time.monotonic()
            engine.api.kill(container.id)

            def back() -> bool:
                tasks = [t for t in swarm.status(stack.name, manager) if t.service == "web"]
                running = [t for t in tasks if t.state == "running" and t.node != victim]
                return len(running) == 2

            recovered = wait_until(back, 120, "web back to 2 running tasks")
            load.wait_for(50)
        print(f"node {victim} killed: web back to 2/2 in {recovered:.1f}s; "
              f"{load.result.requests} requests, {load.failed} failed")  # fmt: skip
        assert time.monotonic() - killed >= recovered
        # The goal is 0 failed. nginx retries on another task every request the dead node did
        # not begin to answer; a response it had begun (its header already passed on to the
        # client) cannot be retried. And in some runs under CI's load a few requests got a
        # 502/504 within seconds of the kill, nginx having resolved tasks.web to the dead task
        # alone. What this test holds to: nothing fails once the swarm runs the replacement,
        # and what failed before is a sliver of the load (an outage would be thousands).
        failures = load.result.failures
        if failures:
            print(f"failed: {sorted(set(failures))}")
        late = [t for t in load.result.failure_times if t > killed + recovered]
        assert not late, (failures[:5], _errors(stack, manager))
        assert load.failed <= max(CLIENTS, load.result.requests // 200), (
            failures[:5], _errors(stack, manager),
        )  # fmt: skip
    finally:
        engine.start(container.id)
        manager_node = form.node_containers(engine)["node1"]
        form.wait_ready(engine, manager_node, {"node1", "node2", "node3"})


def test_a_compose_file_without_restart_gets_its_tasks_back_after_a_node_loss(
    engine: DockerEngine, manager: SwarmEngine, cluster: lifecycle.Cluster
) -> None:
    """docker stack's default for a file that says nothing is to restart on any exit; so is
    the swarm target's (one engine's default, no restart, would leave the lost task lost)."""
    stack = load(ROOT / "tests/swarm/node_loss/compose.yaml")
    stack = stack.model_copy(update={"name": unique_name("swc")})
    swarm.up(stack, manager, engine, cluster.registry, quiet, timeout=300)
    try:
        (web,) = manager.services(labels.stack_filter(stack.name))
        assert web.spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
        victim = next(node for node in _web_nodes(manager, stack.name) if node != "node1")
        container = form.node_containers(engine)[victim]
        engine.api.kill(container.id)
        try:

            def back() -> bool:
                tasks = [t for t in swarm.status(stack.name, manager) if t.service == "web"]
                return sum(t.state == "running" and t.node != victim for t in tasks) == 2

            seconds = wait_until(back, 150, "web back to 2 running tasks")
            print(f"compose file, node {victim} killed: web back to 2/2 in {seconds:.1f}s")
        finally:
            engine.start(container.id)
            form.wait_ready(engine, form.node_containers(engine)["node1"],
                            {"node1", "node2", "node3"})  # fmt: skip
    finally:
        swarm.down(stack.name, manager, quiet)
    wait_until(lambda: not leftovers(engine, stack.name), 60, "nodes cleaned up")


def test_restart_ls_and_build_act_on_the_swarm(
    deployed: tuple[Stack, swarm.Deployment],
    engine: DockerEngine,
    manager: SwarmEngine,
    cluster: lifecycle.Cluster,
) -> None:
    """The commands that once acted on the manager's own engine: through the swarm target,
    restart replaces every web task (a forced rolling update), ls counts the tasks on every
    node, build builds where deployer runs and pushes where the nodes pull from."""
    stack, _ = deployed
    target = SwarmTarget(manager=manager, builder=engine)
    before = {t.id for t in swarm.status(stack.name, manager) if t.service == "web"}
    _wait_both_replicas_answer()
    with Load(FRONT_DOOR + "/", clients=CLIENTS) as load:
        load.wait_for(50)
        assert target.restart(stack, Request(services=("web",)), quiet) == 2
        load.wait_for(50)
    after = [t for t in swarm.status(stack.name, manager) if t.service == "web"]
    assert len(after) == 2 and not before & {t.id for t in after}
    assert {t.state for t in after} == {"running"}
    print(f"swarm restart under load: {load.result.requests} requests, {load.failed} failed")
    assert load.failed == 0, load.result.failures[:5]
    (summary,) = [s for s in target.stacks() if s.name == stack.name]
    assert summary.services == {"nginx": (1, 1, 1), "web": (2, 2, 2)}
    pushed = target.build(stack, Request(services=("web",), registry=cluster.registry), quiet)
    assert list(pushed) == ["web"] and pushed["web"].startswith(f"{cluster.registry}/")
    assert "@sha256:" in pushed["web"]


def test_what_a_swarm_cannot_run_is_refused_before_anything_is_touched(
    engine: DockerEngine, manager: SwarmEngine, cluster: lifecycle.Cluster
) -> None:
    name = unique_name("sw")
    stack = _with_web(_stack(name), mounts=(Mount(type="bind", source="app", target="/data"),))
    with pytest.raises(StackError, match=r"services\.web\.mounts\.0: .*named volume"):
        swarm.up(stack, manager, engine, cluster.registry, quiet)
    assert not manager.services(labels.stack_filter(name))
    assert not leftovers(engine, name)


def test_the_deploy_lock_is_held_on_the_manager(
    engine: DockerEngine, manager: SwarmEngine, cluster: lifecycle.Cluster
) -> None:
    name = unique_name("sw")
    elsewhere = DeployLock(name, 1, quiet, manager, "up")
    with elsewhere:
        # The marker is on the manager's engine, not on the engine deployer builds on.
        marker = labels.lock_name(name)
        assert manager.claim_info(marker) is not None
        assert engine.claim_info(marker) is None
        with pytest.raises(LockBusy, match=rf"up by pid {os.getpid()} on "):
            swarm.up(_stack(name), manager, engine, cluster.registry, quiet, lock_timeout=0.5)
    assert manager.claim_info(marker) is None
    assert not manager.services(labels.stack_filter(name))


def test_a_throwaway_stack_runs_on_the_cluster_beside_another_and_leaves_nothing(
    deployed: tuple[Stack, swarm.Deployment],
    engine: DockerEngine,
    cluster: lifecycle.Cluster,
) -> None:
    stack, _ = deployed  # publishes the edge node's 8080: the copy gets another edge port
    # With a secret and a config: Swarm secrets and configs, on whichever node a task runs.
    with_files = _with_web(
        _stack("demo").model_copy(
            update={
                "secrets": (Secret(name="api_key", content="s3cret"),),
                "configs": (Config(name="motd", content="hello from a config"),),
            }
        ),
        secrets=(SecretUse(source="api_key"),),
        configs=(ConfigUse(source="motd", target="/etc/motd"),),
        read_only=False,  # a config is written on the root (a secret goes to /run/secrets)
    )
    with swarm_throwaway(with_files, cluster, builder=engine) as shop:
        assert shop.url("nginx") != FRONT_DOOR
        with urllib.request.urlopen(shop.url("nginx") + "/", timeout=5) as response:
            assert json.loads(response.read())["message"] == "Hello from deployer"
        running = [t for t in shop.replicas() if t.state == "running"]
        assert sorted(t.service for t in running) == ["nginx", "web", "web"]
        assert "Booting worker" in shop.logs("web")
        nodes = form.node_containers(engine)
        for task in (t for t in running if t.service == "web"):
            read = ["docker", "exec", task.id, "cat", "/run/secrets/api_key", "/etc/motd"]
            code, output = engine.exec(nodes[task.node].id, read)
            assert (code, output) == (0, "s3crethello from a config"), (task.node, output)
        name = shop.name
    assert name != stack.name
    seconds = wait_until(lambda: not leftovers(engine, name), 60, "nodes cleaned up")
    print(f"throwaway {name}: nodes held nothing of it {seconds:.1f}s after it ended")
    assert _answer()["message"] == "Hello from deployer"  # the other stack still serves


def test_a_port_another_stack_holds_fails_fast_with_the_schedulers_reason(
    deployed: tuple[Stack, swarm.Deployment],
    engine: DockerEngine,
    manager: SwarmEngine,
    cluster: lifecycle.Cluster,
) -> None:
    assert deployed  # its nginx holds the edge node's 8080
    second = _stack(unique_name("sw"))
    started = time.monotonic()
    try:
        with pytest.raises(DeployFailed, match="host-mode port already in use") as failed:
            swarm.up(second, manager, engine, cluster.registry, quiet, timeout=300)
        print(f"refused in {time.monotonic() - started:.1f}s: {failed.value}")
        assert time.monotonic() - started < 120  # not the 300 s timeout
    finally:
        swarm.down(second.name, manager, quiet)
    assert _answer()["message"] == "Hello from deployer"


def test_the_swarm_reaper_removes_a_killed_sessions_throwaway(
    engine: DockerEngine, manager: SwarmEngine, cluster: lifecycle.Cluster
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from deployer.cluster import lifecycle
            from deployer.core import labels
            from deployer.testing import swarm_throwaway
            with swarm_throwaway({str(ROOT / "stack.py")!r}, lifecycle.status()) as shop:
                print(shop.stack.labels[labels.SESSION], shop.name, flush=True)
                time.sleep(600)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    session, name = child.stdout.readline().split()
    mine = {"label": [f"{labels.SESSION}={session}"]}
    assert len(manager.services(mine)) == 2  # there before the kill
    child.send_signal(signal.SIGKILL)
    child.wait()
    seconds = wait_until(lambda: not manager.services(mine), 30, "the session's services gone")
    print(f"reaper: the killed session's services gone {seconds:.1f}s after the kill")
    wait_until(lambda: not manager.swarm_objects("config", mine), 60, "its configs gone")
    wait_until(lambda: not manager.networks(labels.stack_filter(name)), 60, "its network gone")
    wait_until(lambda: not leftovers(engine, name), 60, "nodes cleaned up")


def test_the_cluster_opens_no_engine_api_on_tcp_and_its_registry_asks_for_a_password(
    engine: DockerEngine, cluster: lifecycle.Cluster
) -> None:
    """Audit finding 4: a node's API is root on the host; the registry holds every image."""
    for name, node in form.node_containers(engine).items():
        code, listening = engine.exec(node.id, ["ss", "-Hltn"])
        assert code == 0, listening
        ports = {line.split()[3].rsplit(":", 1)[-1] for line in listening.splitlines()}
        assert not ports & {"2375", "2376"}, (name, listening)
    socket_path = Path(cluster.docker_host.removeprefix("unix://"))
    assert socket_path.is_socket()
    folder = socket_path.parent.stat()
    assert (folder.st_uid, folder.st_mode & 0o777) == (os.geteuid(), 0o700)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{cluster.registry}/v2/", timeout=5)
    assert refused.value.code == 401
    kept = registries.credentials(cluster.registry)
    assert kept is not None
    token = base64.b64encode(f"{kept['username']}:{kept['password']}".encode()).decode()
    request = urllib.request.Request(
        f"http://{cluster.registry}/v2/", headers={"Authorization": f"Basic {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    kept_file = next(socket_path.parents[1].glob("registries/*.json"))
    assert kept_file.stat().st_mode & 0o777 == 0o600
