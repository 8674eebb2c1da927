"""What each service should look like once images are known: hashes, files, container bodies."""

from __future__ import annotations

from deployer import hashing, labels, nginx, render
from deployer.images import ServiceImage
from deployer.reconcile import Desired
from deployer.render import ContainerPlan
from deployer.spec import File, Service, Stack


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
            self.services[service.name] = Desired(hashing.config_hash(fields), fields)

    def files(self, service: Service) -> list[File]:
        files = list(service.files)
        if service.proxy is not None:
            upstream = self.stack.service(service.proxy.upstream)
            hosts = [
                labels.container_name(self.stack.name, upstream.name, replica)
                for replica in range(1, upstream.replicas + 1)
            ]
            config = nginx.render(
                self.templates[service.name],
                str(self.stack.resolve(service.proxy.template)),
                upstream=upstream.name,
                replica_hosts=hosts,
                port=service.proxy.port,
            )
            files.append(File(path=service.proxy.config_path, content=config))
        return files

    def container(self, service: Service, replica: int) -> ContainerPlan:
        desired = self.services[service.name]
        return render.container_plan(
            self.stack,
            service,
            replica,
            image=self.images[service.name].reference,
            config_hash=desired.config_hash,
            config_fields=hashing.fields_label(desired.config_fields),
            files=self.files(service),
        )
