"""export kubernetes: the same stack as Kubernetes manifests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from deployer.cli.app import FilesOption, ProjectOption, source

commands = typer.Typer(rich_markup_mode=None)  # put on the root app by deployer.cli.main

export_app = typer.Typer(
    rich_markup_mode=None, help="The same stack, for other platforms.", no_args_is_help=True
)
commands.add_typer(export_app, name="export")


def dump(manifests: list[dict[str, Any]]) -> str:
    """YAML documents: block style for multi-line text (a rendered nginx.conf reads as a file),
    no anchors."""
    import yaml  # only this command writes YAML

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump_all(manifests, Dumper=Dumper, sort_keys=False, allow_unicode=True)


@export_app.command("kubernetes")
def export_kubernetes(
    ctx: typer.Context,
    files: FilesOption = None,
    project: ProjectOption = None,
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            metavar="DIR|-",
            help="a folder (one file per object) or - for standard output",
        ),
    ] = "-",
    namespace: Annotated[str | None, typer.Option("--namespace", help="metadata.namespace")] = None,
    image_registry: Annotated[
        str | None,
        typer.Option("--image-registry", metavar="HOST", help="where built images are pushed"),
    ] = None,
    image_tag: Annotated[str, typer.Option("--image-tag", help="their tag")] = "latest",
    proxy: Annotated[
        str, typer.Option("--proxy", help="ingress (ingress-nginx) | nginx (the stack's own)")
    ] = "ingress",
    host: Annotated[str | None, typer.Option("--host", help="the Ingress rule's host")] = None,
    include_secret_data: Annotated[
        bool,
        typer.Option(
            "--include-secret-data",
            help="write the values of secrets, env values from outside the stack files and "
            "key files into the Secrets (off: Secrets without data, made with kubectl)",
        ),
    ] = False,
) -> int:
    """Deployments, Services, an Ingress (or the stack's nginx), claims and config maps."""
    if proxy not in {"ingress", "nginx"}:
        raise typer.BadParameter(f"{proxy!r}: choose ingress or nginx", param_hint="--proxy")
    chosen = source(ctx, files, project)
    stack = chosen.stack()
    proxies = [s for s in stack.services if s.proxy is not None]
    template = None
    if proxy == "nginx" and proxies and proxies[0].proxy is not None:
        template = stack.resolve(proxies[0].proxy.template).read_text()
    from deployer.targets.kubernetes import render as kubernetes  # only for this command

    options = kubernetes.Options(
        namespace=namespace, image_registry=image_registry, image_tag=image_tag,
        proxy="nginx" if proxy == "nginx" else "ingress", host=host, proxy_template=template,
        stack_text=chosen.text(), include_secret_data=include_secret_data,
        outside_values=chosen.outside_values(),
    )  # fmt: skip
    result = kubernetes.export(stack, options)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if output == "-":
        print(dump(result.manifests), end="")
        return 0
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    for index, manifest in enumerate(result.manifests, start=1):
        kind, name = manifest["kind"].lower(), manifest["metadata"]["name"]
        (folder / f"{index:02d}-{kind}-{name}.yaml").write_text(dump([manifest]))
    print(f"wrote {len(result.manifests)} manifests to {folder}; apply them with "
          f"`kubectl apply -f {folder}`")  # fmt: skip
    return 0
