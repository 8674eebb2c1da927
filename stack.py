"""The default stack: the Flask app (gunicorn, two replicas) behind nginx.

Deploy it with `python -m deployer up`; base images are built locally from Debian packages.
"""

from deployer import (
    Build,
    DependsOn,
    Healthcheck,
    HttpProbe,
    Logging,
    Port,
    Proxy,
    Reservations,
    Resources,
    Service,
    Stack,
)

LOGS = Logging(driver="json-file", max_size="10m", max_file=3)

web = Service(
    name="web",
    build=Build(
        context="app",
        args={"BASE_IMAGE": "deployer/python:bookworm"},
        wheelhouse="requirements.txt",
    ),
    replicas=2,
    env={"APP_MESSAGE": "Hello from deployer"},
    healthcheck=Healthcheck(
        http=HttpProbe(path="/health", port=8000),
        interval="2s",
        timeout="2s",
        retries=3,
        start_period="20s",
    ),
    resources=Resources(
        cpus=1.0, memory="256m", pids=256, reservations=Reservations(cpus=0.25, memory="64m")
    ),
    restart="unless-stopped",
    user="10001:10001",
    read_only=True,
    tmpfs={"/tmp": "size=64m"},
    cap_drop=["ALL"],
    security_opt=["no-new-privileges:true"],
    ulimits={"nofile": 16384},
    logging=LOGS,
    stop_grace_period="20s",
    init=True,
)

nginx = Service(
    name="nginx",
    image="deployer/nginx:bookworm",
    # Replicas are reached over unix sockets: swapping one needs no nginx reload.
    proxy=Proxy(
        upstream="web", port=8000, transport="socket", template="nginx/nginx.conf.template"
    ),
    ports=[Port(host=8080, container=80, host_ip="127.0.0.1")],
    depends_on=[DependsOn(service="web", condition="healthy")],
    healthcheck=Healthcheck(
        http=HttpProbe(path="/nginx-health", port=80), interval="2s", timeout="2s", retries=3
    ),
    resources=Resources(cpus=0.5, memory="128m", pids=128),
    restart="unless-stopped",
    security_opt=["no-new-privileges:true"],
    ulimits={"nofile": 16384},
    logging=LOGS,
    stop_signal="SIGQUIT",
    stop_grace_period="10s",
)

stack = Stack(name="demo", services=[web, nginx])
