"""What each service should look like once images are known: hashes, files, container bodies."""

from __future__ import annotations

import json

from deployer.core import hashing, labels, nginx, render, secrets
from deployer.core.render import ContainerPlan
from deployer.core.state import ServiceImage
from deployer.model.spec import File, Service, Stack
from deployer.targets.engine.reconcile import Desired


class DesiredStack:
    def __init__(self, stack: Stack, images: dict[str, ServiceImage]) -> None:
        self.stack = stack
        self.images = images
        self.templates = {
            s.name: stack.resolve(s.proxy.template).read_text() for s in stack.services if s.proxy
        }
        self.services: dict[str, Desired] = {}
        for service in stack.services:
            fields = hashing.service_fields(
                stack, service, images[service.name].id, self.templates.get(service.name)
            )
            self.services[service.name] = Desired(
                hashing.config_hash(fields), fields, built=service.build is not None
            )

    def proxy_config(self, proxy: Service, members: list[tuple[int, str]]) -> str:
        """The proxy's nginx config serving `members`: (replica, container name) pairs."""
        assert proxy.proxy is not None
        return nginx.render(
            self.templates[proxy.name],
            str(self.stack.resolve(proxy.proxy.template)),
            upstream=proxy.proxy.upstream,
            addresses=upstream_addresses(proxy, members),
            rate_limit=proxy.proxy.rate_limit,
            max_body_size=proxy.proxy.max_body_size,
            public_metrics=proxy.proxy.public_metrics,
        )

    def files(self, service: Service) -> list[File]:
        files = list(service.files) + secrets.files(self.stack, service)
        if service.proxy is not None:
            upstream = self.stack.service(service.proxy.upstream)
            members = [
                (replica, labels.container_name(self.stack.name, upstream.name, replica))
                for replica in range(1, upstream.replicas + 1)
            ]
            config = self.proxy_config(service, members)
            files.append(File(path=labels.PROXY_CONFIG, content=config))
            files += [
                File(path=f"{labels.PROXY_CONFIG_DIR}/{name}", link=f"/etc/nginx/{name}")
                for name in labels.NGINX_SHARED_FILES
            ]
        return files

    def spec(self, service: Service) -> str:
        """The service as it runs (its image by reference): what `rollback` returns to."""
        data = service.model_dump(mode="json", exclude={"build"})
        data["image"] = self.images[service.name].reference
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def container(
        self, service: Service, replica: int, name: str | None = None, previous_spec: str = ""
    ) -> ContainerPlan:
        desired = self.services[service.name]
        return render.container_plan(
            self.stack,
            service,
            replica,
            image=self.images[service.name].reference,
            config_hash=desired.config_hash,
            config_fields=hashing.fields_label(desired.config_fields),
            files=self.files(service),
            spec=self.spec(service),
            previous_spec=previous_spec,
            name=name,
        )


def upstream_addresses(proxy: Service, members: list[tuple[int, str]]) -> list[str]:
    """Where nginx reaches each member: its name and port, or its replica slot's socket."""
    assert proxy.proxy is not None
    if proxy.proxy.transport == "socket":
        return sorted({f"unix:{labels.slot_path(replica)}" for replica, _ in members})
    return sorted({f"{name}:{proxy.proxy.port}" for _, name in members})
