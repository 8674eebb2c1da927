"""Seeds 001 and 003: a single Flask container on port 5000 (the development server)."""

from deployer import Build, Healthcheck, HttpProbe, Port, Service, Stack

web = Service(
    name="web",
    build=Build(context="app", wheelhouse="requirements.txt"),
    ports=[Port(host=5000, container=5000)],
    healthcheck=Healthcheck(http=HttpProbe(path="/", port=5000), interval="2s"),
    restart="unless-stopped",
    # The development server ignores SIGTERM as PID 1; under an init it stops at once.
    init=True,
)

stack = Stack(name="minimal", services=[web])
