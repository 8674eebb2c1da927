"""Seed 000 as a deployer stack: gunicorn + gevent (9 workers) + Prometheus metrics behind nginx,
with the seed's limits (2 CPUs, 1 GB) and log rotation (json-file, 100m).
"""

from deployer import (
    Build,
    DependsOn,
    Healthcheck,
    HttpProbe,
    Logging,
    Port,
    Proxy,
    Resources,
    Service,
    Stack,
)

web = Service(
    name="web",
    build=Build(context=".", wheelhouse="app/requirements.txt"),
    healthcheck=Healthcheck(http=HttpProbe(path="/health", port=5000), interval="2s"),
    resources=Resources(cpus=2.0, memory="1g"),
    logging=Logging(driver="json-file", max_size="100m"),
    restart="unless-stopped",
)

nginx = Service(
    name="nginx",
    image="deployer/nginx:bookworm",
    proxy=Proxy(upstream="web", port=5000, template="nginx/nginx.conf.template"),
    ports=[Port(host=8081, container=80)],
    depends_on=[DependsOn(service="web", condition="healthy")],
    healthcheck=Healthcheck(command="curl -fsS -o /dev/null http://127.0.0.1/", interval="2s"),
    restart="unless-stopped",
)

stack = Stack(name="production", services=[web, nginx])
