"""Images for a stack's services: found, pulled, bootstrapped or built (content-addressed)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

from deployer.core import hashing, labels
from deployer.core.events import BuildOutput, ImageBuilding, ImageUpToDate, Pulling, Report
from deployer.core.state import ServiceImage
from deployer.engine import Engine
from deployer.engine.context import context_files
from deployer.images import bases, wheels
from deployer.model.errors import ImageError
from deployer.model.spec import Build, Service, Stack

PullPolicy = Literal["always", "missing", "never"]


def ensure_present(
    engine: Engine, reference: str, report: Report, bootstrap: bool, pull: PullPolicy = "missing"
) -> str:
    """Return the id of `reference`, pulling it or bootstrapping a deployer base if needed."""
    found = engine.image_id(reference)
    base = bases.by_reference(reference)
    if found and (pull != "always" or base is not None):
        return found  # deployer's bases come from no registry: "always" cannot refresh them
    if base is not None:
        if not bootstrap:
            raise ImageError(
                f"base image {reference} is not on this host",
                hint=f"build it from Debian packages: {bases.BOOTSTRAP_COMMAND}",
            )
        return bases.bootstrap(engine, base, report)
    if pull == "never":
        raise ImageError(
            f"image {reference} is not on this host, and the pull policy is never",
            hint="load or build it first, or pull with --pull missing",
        )
    report(Pulling(reference))
    try:
        engine.pull(reference)
    except ImageError as error:
        raise ImageError(
            f"image {reference} {'cannot' if found else 'is not on this host and cannot'} be "
            f"pulled: {error.message}",
            hint="load it (`docker load`), build it, or base the service on deployer's own "
            f"images ({', '.join(b.reference for b in bases.BASES.values())}), "
            f"which `{bases.BOOTSTRAP_COMMAND}` builds without a registry",
        ) from None
    pulled = engine.image_id(reference)
    if pulled is None:
        raise ImageError(f"pulled {reference} but the engine does not list it")
    return pulled


def prepare(
    engine: Engine,
    stack: Stack,
    report: Report,
    bootstrap: bool = True,
    *,
    services: set[str] | None = None,
    build: bool = True,
    pull: PullPolicy = "missing",
    no_cache: bool = False,
) -> dict[str, ServiceImage]:
    """Make every service's image present; build what changed. Keyed by service name.

    Only `services` (all when None) are pulled or built; the others are resolved as they are.
    Without `build`, an image that would need building is an error instead.
    """
    images = resolve_without_building(engine, stack) if services is not None else {}
    present: dict[tuple[str, str], str] = {}  # (reference, policy) -> id: each asked once
    for service in stack.services:
        if services is not None and service.name not in services:
            continue
        if service.image is not None:
            policy = service.pull_policy if service.pull_policy not in {None, "build"} else pull
            key = (service.image, str(policy))
            if key not in present:
                present[key] = ensure_present(engine, service.image, report, bootstrap, policy)  # type: ignore[arg-type]
            images[service.name] = ServiceImage(service.image, present[key])
        elif not build:
            images[service.name] = _built_already(engine, stack, service)
        else:
            images[service.name] = build_service(
                engine, stack, service, report, bootstrap, no_cache=no_cache
            )
    return images


def _built_already(engine: Engine, stack: Stack, service: Service) -> ServiceImage:
    image = resolve_without_building(engine, stack.model_copy(update={"services": (service,)}))
    found = image[service.name]
    if found.id.startswith(("unbuilt:", "missing:")):
        raise ImageError(
            f"{service.name}: image {found.reference} is not built (and --no-build was given)",
            hint=f"build it: python -m deployer build {service.name}",
        )
    return found


def build_service(
    engine: Engine,
    stack: Stack,
    service: Service,
    report: Report,
    bootstrap: bool,
    no_cache: bool = False,
) -> ServiceImage:
    build = service.build
    assert build is not None
    context = stack.resolve(build.context)
    if build.wheelhouse:
        wheels.ensure(context, build.wheelhouse, build.python_version, report)
    dockerfile_text = (context / build.dockerfile).read_text()
    base_ids = {
        reference: ensure_present(engine, reference, report, bootstrap)
        for reference in base_images(dockerfile_text, build.args)
    }
    tag = build_tag(stack, service, base_ids)
    existing = engine.image_id(tag)
    if existing and not no_cache:
        report(ImageUpToDate(service.name, tag))
        return ServiceImage(tag, existing)
    report(ImageBuilding(service.name, tag))
    image_id = engine.build(
        context,
        dockerfile=build.dockerfile,
        tag=tag,
        args=dict(build.args),
        target=build.target,
        labels=labels.image_labels(stack.name, service.name),
        no_cache=no_cache,
        on_output=lambda text: build_lines(service.name, text, report),
    )
    return ServiceImage(tag, image_id)


def build_lines(source: str, text: str, report: Report) -> None:
    """The engine streams build output in chunks: one event per non-blank line."""
    for line in text.splitlines():
        if line.strip():
            report(BuildOutput(source, line))


def build_tag(stack: Stack, service: Service, base_ids: dict[str, str]) -> str:
    """`<stack>-<service>:<content address>`: the same inputs always name the same image."""
    assert service.build is not None
    context = stack.resolve(service.build.context)
    image_labels = labels.image_labels(stack.name, service.name)
    digest = context_digest(context, service.build, base_ids, image_labels)
    return f"{labels.image_repository(stack.name, service.name)}:{digest[:12]}"


def context_digest(
    context: Path, build: Build, base_ids: dict[str, str], image_labels: dict[str, str]
) -> str:
    """Content address of a build: every context file, the recipe, base image ids, labels."""
    files = {}
    for relative in context_files(context, build.dockerfile):
        if build.wheelhouse and wheels.is_wheel(relative):
            continue  # the wheelhouse's stamp (hashed like any file) stands for its wheels
        files[relative] = hashlib.sha256((context / relative).read_bytes()).hexdigest()
    recipe = build.model_dump(mode="json", exclude={"context", "wheelhouse", "python_version"})
    return hashing.digest(
        {"files": files, "recipe": recipe, "bases": base_ids, "labels": image_labels}
    )


_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE | re.MULTILINE)
_FROM = re.compile(
    r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE
)


def base_images(dockerfile: str, args: dict[str, str]) -> list[str]:
    """External images a Dockerfile starts FROM (stage names and `scratch` left out)."""
    first_from = _FROM.search(dockerfile)
    header = dockerfile[: first_from.start()] if first_from else ""
    values = {name: default or "" for name, default in _ARG.findall(header)}
    values.update(args)
    stages: set[str] = set()
    found: list[str] = []
    for image, stage in _FROM.findall(dockerfile):
        reference = re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values.get(m.group(1), ""), image
        )
        if reference.lower() != "scratch" and reference not in stages and reference not in found:
            found.append(reference)
        if stage:
            stages.add(stage)
    return found


def resolve_without_building(engine: Engine, stack: Stack) -> dict[str, ServiceImage]:
    """Image ids as they are now, for `plan`: an image that would be built gets a marker id."""
    resolved = {}
    for service in stack.services:
        if service.image is not None:
            image_id = engine.image_id(service.image) or f"missing:{service.image}"
            resolved[service.name] = ServiceImage(service.image, image_id)
            continue
        build = service.build
        assert build is not None
        context = stack.resolve(build.context)
        dockerfile_text = (context / build.dockerfile).read_text()
        base_ids = {
            ref: engine.image_id(ref) or f"missing:{ref}"
            for ref in base_images(dockerfile_text, build.args)
        }
        tag = build_tag(stack, service, base_ids)
        found = engine.image_id(tag)
        resolved[service.name] = ServiceImage(tag, found or f"unbuilt:{tag}")
    return resolved
