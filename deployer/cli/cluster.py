"""cluster up / down / status: a local multi-node Swarm of dockerd containers, for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from deployer.cli.app import JsonOption, print_json
from deployer.cli.progress import progress
from deployer.cluster.options import ClusterOptions

if TYPE_CHECKING:
    from deployer.cluster import lifecycle

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main
cluster_app = typer.Typer(
    rich_markup_mode=None,
    help="A local multi-node Docker Swarm (dockerd nodes as containers) and a registry.",
    no_args_is_help=True,
)
commands.add_typer(cluster_app, name="cluster")


def _publish(values: list[str]) -> tuple[tuple[int, int], ...]:
    pairs = []
    for value in values:
        host, _, node = value.partition(":")
        if not (host.isdigit() and node.isdigit()):
            raise typer.BadParameter(f"{value!r}: write HOST:NODE ports", param_hint="--publish")
        pairs.append((int(host), int(node)))
    return tuple(pairs)


def _print(cluster: lifecycle.Cluster) -> None:
    for node in cluster.nodes:
        role = f"manager ({node.manager})" if node.manager else "worker"
        print(f"{node.hostname:<8} {node.status:<8} {node.availability:<8} {role}")
    if cluster.edge_ports:
        reached = ", ".join(f"{node} at 127.0.0.1:{host}"
                            for node, host in sorted(cluster.edge_ports.items()))  # fmt: skip
        print(f"ports published on node1: {reached}")
    print("deploy onto it with:")
    for key, value in cluster.environment().items():
        print(f"  export {key}={value}")


@cluster_app.command("up")
def cluster_up(
    nodes: Annotated[int, typer.Option("--nodes", min=1, max=9, help="dockerd nodes")] = 3,
    managers: Annotated[int, typer.Option("--managers", min=1, help="of them, managers")] = 1,
    registry_port: Annotated[
        int, typer.Option("--registry-port", help="127.0.0.1 port of the registry")
    ] = ClusterOptions.registry_port,
    publish: Annotated[
        list[str] | None,
        typer.Option(
            "--publish",
            metavar="HOST:NODE",
            help="a 127.0.0.1 port reaching a port published on the edge node (node1); "
            "default 18080:8080 to 18083:8083",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> int:
    """Start the nodes and the registry, form the swarm, print the DOCKER_HOST to use."""
    if managers > nodes:
        raise typer.BadParameter(f"{managers} managers but {nodes} nodes", param_hint="--managers")
    options = ClusterOptions(
        nodes=nodes, managers=managers, registry_port=registry_port,
        publish=_publish(publish) if publish else ClusterOptions().publish,
    )  # fmt: skip
    with progress(json_output) as report:
        from deployer.cluster import lifecycle  # docker loads only for the cluster

        cluster = lifecycle.up(options, report=report)
    if json_output:
        print_json(cluster.as_data())
    else:
        print(f"swarm of {len(cluster.nodes)} nodes ready in {cluster.seconds:.1f}s")
        _print(cluster)
    return 0


@cluster_app.command("status")
def cluster_status(json_output: JsonOption = False) -> int:
    """The nodes as the swarm sees them, and the environment to deploy onto it."""
    from deployer.cluster import lifecycle

    cluster = lifecycle.status()
    if json_output:
        print_json(cluster.as_data())
    else:
        _print(cluster)
    return 0


@cluster_app.command("down")
def cluster_down(json_output: JsonOption = False) -> int:
    """Remove the nodes, the registry and everything they held."""
    with progress(json_output) as report:
        from deployer.cluster import lifecycle

        removed = lifecycle.down(report=report)
    if json_output:
        print_json({"removed": removed})
    else:
        print(f"removed {removed} object(s) of the test cluster" if removed
              else "no test cluster here")  # fmt: skip
    return 0
