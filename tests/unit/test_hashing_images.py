"""The config hash's deliberate exclusions, and content-addressed image tags."""

from __future__ import annotations

from pathlib import Path

from deployer.core import hashing
from deployer.images.build import base_images, build_tag
from deployer.model.spec import Build, DependsOn, Service, Stack


def _fields(service: Service, *others: Service) -> dict[str, str]:
    stack = Stack(name="shop", services=(service, *others))
    return hashing.service_fields(stack, service, "sha256:1", None)


def test_scaling_and_dependencies_never_change_the_hash() -> None:
    db = Service(name="db", image="db")
    web = Service(name="web", image="web")
    same = [
        web.model_copy(update={"replicas": 5}),
        web.model_copy(update={"depends_on": (DependsOn(service="db"),)}),
    ]
    for variant in same:
        assert hashing.config_hash(_fields(variant, db)) == hashing.config_hash(_fields(web, db))


def test_a_changed_field_is_named() -> None:
    web = Service(name="web", image="web", env={"A": "1"})
    old, new = _fields(web), _fields(web.model_copy(update={"env": {"A": "2"}}))
    assert hashing.changed_fields(old, new) == ["env"]
    assert hashing.parse_fields_label(hashing.fields_label(old)) == old


def test_the_image_id_is_what_counts_not_its_name() -> None:
    stack = Stack(name="shop", services=(Service(name="web", image="web:1"),))
    web = stack.services[0]
    one = hashing.service_fields(stack, web, "sha256:1", None)
    assert one == hashing.service_fields(
        stack, web.model_copy(update={"image": "web:latest"}), "sha256:1", None
    )
    assert hashing.changed_fields(one, hashing.service_fields(stack, web, "sha256:2", None)) == [
        "image"
    ]


def test_base_images_follow_args_and_skip_stages_and_scratch() -> None:
    dockerfile = (
        "ARG BASE_IMAGE=deployer/python:bookworm\n"
        "FROM ${BASE_IMAGE} AS build\n"
        "FROM build AS test\n"
        "FROM --platform=linux/amd64 $BASE_IMAGE\n"
        "FROM scratch\n"
    )
    assert base_images(dockerfile, {}) == ["deployer/python:bookworm"]
    assert base_images(dockerfile, {"BASE_IMAGE": "other:1"}) == ["other:1"]


def test_build_tags_are_content_addresses(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM deployer/python:bookworm\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    stack = Stack(name="shop", services=(Service(name="web", build=Build(context=tmp_path)),))
    web = stack.services[0]
    first = build_tag(stack, web, {"deployer/python:bookworm": "sha256:base"})
    assert first.startswith("shop-web:")
    assert build_tag(stack, web, {"deployer/python:bookworm": "sha256:base"}) == first
    assert build_tag(stack, web, {"deployer/python:bookworm": "sha256:new"}) != first
    (tmp_path / "app.py").write_text("print(2)\n")
    assert build_tag(stack, web, {"deployer/python:bookworm": "sha256:base"}) != first
