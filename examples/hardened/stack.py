"""Seed 002 as a deployer stack: gunicorn config file with JSON access logs, a healthcheck with a
start period, unless-stopped, limits and reservations, ulimits, no-new-privileges, a read-only
root with a tmpfs, a logs volume and a named network.
"""

from deployer import (
    Build,
    Healthcheck,
    HttpProbe,
    Mount,
    Network,
    NetworkAttachment,
    Port,
    Reservations,
    Resources,
    Service,
    Stack,
    Ulimit,
    Volume,
)

web = Service(
    name="web",
    build=Build(context=".", wheelhouse="requirements.txt"),
    ports=[Port(host=8000, container=8000)],
    env={"FLASK_ENV": "production"},
    healthcheck=Healthcheck(
        http=HttpProbe(path="/health", port=8000), interval="5s", timeout="5s", start_period="15s"
    ),
    restart="unless-stopped",
    resources=Resources(cpus=2.0, memory="1g", reservations=Reservations(cpus=0.5, memory="256m")),
    ulimits={
        "nproc": 65535,
        # The seed asks for 65535; this engine's hard limit is 20000.
        "nofile": Ulimit(soft=16384, hard=16384),
        "core": 0,
    },
    security_opt=["no-new-privileges:true"],
    read_only=True,
    tmpfs={"/tmp": "rw,noexec,nosuid,size=100m"},
    mounts=[Mount(source="logs", target="/app/logs")],
    networks=[NetworkAttachment(name="app-network", aliases=["flask_web"])],
)

stack = Stack(
    name="hardened",
    services=[web],
    networks=[Network(name="app-network")],
    volumes=[Volume(name="logs")],
)
