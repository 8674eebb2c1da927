"""Seed 004 as a deployer stack: Flask on uWSGI behind nginx, which speaks uwsgi_pass to it."""

from deployer import Build, DependsOn, Healthcheck, Port, Proxy, Service, Stack

flask = Service(
    name="flask",
    build=Build(context="flask", wheelhouse="requirements.txt"),
    env={"APP_NAME": "MyFlaskApp"},
    expose=[8080],
    # uWSGI speaks its own protocol on 8080, not HTTP: healthy once it accepts connections.
    healthcheck=Healthcheck(
        command=[
            "python3",
            "-c",
            "import socket; socket.create_connection(('127.0.0.1', 8080), 2)",
        ],
        interval="2s",
    ),
    restart="always",
)

nginx = Service(
    name="nginx",
    image="deployer/nginx:bookworm",
    proxy=Proxy(upstream="flask", port=8080, template="nginx/nginx.conf.template"),
    ports=[Port(host=8082, container=80)],
    depends_on=[DependsOn(service="flask", condition="healthy")],
    restart="always",
)

stack = Stack(name="uwsgi", services=[flask, nginx])
