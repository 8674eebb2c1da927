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
    # One access log, nginx's: it has every request with its id, status and upstream time. The
    # app's own line cost ~20% of the stack's requests/s (bench/results/serving-breakdown.json).
    env={"APP_MESSAGE": "Hello from deployer", "GUNICORN_ACCESS_LOG": ""},
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
        http=HttpProbe(path="/upstream-health", port=80), interval="2s", timeout="2s", retries=3
    ),
    resources=Resources(
        cpus=1.0, memory="128m", pids=128, reservations=Reservations(cpus=0.1, memory="16m")
    ),
    restart="unless-stopped",
    # As locked down as nginx allows: its master needs to bind port 80, switch its workers to
    # www-data and hand them their temp folders; everything it writes is in memory.
    read_only=True,
    tmpfs={"/run": "size=1m", "/var/lib/nginx": "size=64m", "/var/log/nginx": "size=1m"},
    cap_drop=["ALL"],
    cap_add=["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"],
    security_opt=["no-new-privileges:true"],
    ulimits={"nofile": 16384},
    logging=LOGS,
    stop_signal="SIGQUIT",
    stop_grace_period="10s",
    init=True,
)

stack = Stack(name="demo", services=[web, nginx])
