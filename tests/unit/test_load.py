"""Bad stack files: each gets one clear message naming the file and the field path."""

from pathlib import Path

import pytest

from deployer.model.errors import StackError
from deployer.stackfile.load import load

HEADER = "from deployer import *\n"
GOOD_WEB = 'Service(name="web", image="deployer/python:bookworm")'


def write(tmp_path: Path, body: str, name: str = "stack.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(StackError) as caught:
        load(path)
    assert caught.value.exit_code == 2
    assert str(path) in str(caught.value)
    return caught.value.problems


def test_good_stack_loads_and_knows_its_folder(tmp_path: Path) -> None:
    stack = load(write(tmp_path, HEADER + f'stack = Stack(name="ok", services=[{GOOD_WEB}])'))
    assert stack.name == "ok"
    assert stack.root == tmp_path.resolve()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="file not found: pass the stack file with -f FILE"):
        load(tmp_path / "nope.py")


def test_syntax_error(tmp_path: Path) -> None:
    assert problems(write(tmp_path, HEADER + "stack = Stack(\n")) == [
        "line 2: syntax error: '(' was never closed"
    ]


def test_no_stack_defined(tmp_path: Path) -> None:
    assert problems(write(tmp_path, HEADER + "x = 1\n")) == [
        "no variable named 'stack' is defined: end the file with stack = Stack(...)"
    ]


def test_stack_of_wrong_type(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "stack = 3\n")) == ["'stack' is a int, not a deployer.Stack"]


def test_wrong_type_names_line_and_field(tmp_path: Path) -> None:
    body = HEADER + 'web = Service(name="web", image="x", replicas="many")\n'
    assert problems(write(tmp_path, body)) == [
        "line 2: Service.replicas: Input should be a valid integer, unable to parse string as "
        "an integer (got 'many')"
    ]


def test_unknown_field_suggests_spelling(tmp_path: Path) -> None:
    body = HEADER + 'web = Service(name="web", image="x", replica=2)\n'
    assert problems(write(tmp_path, body)) == [
        "line 2: Service.replica: unknown field; did you mean 'replicas'?"
    ]


def test_malformed_memory(tmp_path: Path) -> None:
    body = HEADER + 'web = Service(name="web", image="x", resources=Resources(memory="lots"))\n'
    assert problems(write(tmp_path, body)) == [
        "line 2: Resources.memory: invalid size 'lots': write a number with a unit, like '256m' "
        "or '1g' (got 'lots')"
    ]


def test_malformed_duration(tmp_path: Path) -> None:
    body = HEADER + 'h = Healthcheck(command="true", interval="soon")\n'
    assert problems(write(tmp_path, body)) == [
        "line 2: Healthcheck.interval: invalid duration 'soon': write a number with a unit, "
        "like '500ms', '5s', '1m30s' (got 'soon')"
    ]


def test_other_exception_in_stack_file(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "import nowhere_to_be_found\n")) == [
        "line 1: ModuleNotFoundError: No module named 'nowhere_to_be_found'"
    ]


def test_duplicate_service_names(tmp_path: Path) -> None:
    body = HEADER + f"stack = Stack(name='s', services=[{GOOD_WEB}, {GOOD_WEB}])\n"
    assert problems(write(tmp_path, body)) == [
        "services.web: 2 services share this name; rename all but one"
    ]


def test_depends_on_missing_service(tmp_path: Path) -> None:
    body = HEADER + (
        "stack = Stack(name='s', services=[Service(name='web', image='x', depends_on=['db'])])\n"
    )
    assert problems(write(tmp_path, body)) == [
        "services.web.depends_on.0: no service named 'db' in the stack (known: web)"
    ]


def test_dependency_cycle(tmp_path: Path) -> None:
    body = HEADER + (
        "stack = Stack(name='s', services=[\n"
        "  Service(name='a', image='x', depends_on=['b']),\n"
        "  Service(name='b', image='x', depends_on=['a'])])\n"
    )
    assert problems(write(tmp_path, body)) == [
        "services.a.depends_on: dependency cycle a -> b -> a; break it"
    ]


def test_waiting_for_health_of_a_service_without_healthcheck(tmp_path: Path) -> None:
    body = HEADER + (
        "stack = Stack(name='s', services=[Service(name='a', image='x'),\n"
        "  Service(name='b', image='x',\n"
        "          depends_on=[DependsOn(service='a', condition='healthy')])])\n"
    )
    assert problems(write(tmp_path, body)) == [
        "services.b.depends_on.0: waits for 'a' to be healthy, but 'a' has no healthcheck; "
        "add one or use condition='started'"
    ]


def test_two_services_on_one_host_port(tmp_path: Path) -> None:
    body = HEADER + (
        "stack = Stack(name='s', services=[\n"
        "  Service(name='a', image='x', ports=['8080:80']),\n"
        "  Service(name='b', image='x', ports=['0.0.0.0:8080:8000'])])\n"
    )
    assert problems(write(tmp_path, body)) == [
        "services.b.ports.0: host port 8080/tcp is already published by services.a.ports.0; "
        "choose another host port"
    ]


def test_fixed_host_port_with_replicas(tmp_path: Path) -> None:
    body = HEADER + "stack = Stack(name='s', services=[Service(name='a', image='x', "
    body += "replicas=2, ports=['8080:80'])])\n"
    assert problems(write(tmp_path, body)) == [
        "services.a.ports.0: host port 8080 is fixed but replicas=2; replicas cannot share a "
        "host port (use host port 0, or put them behind nginx)"
    ]


def test_build_context_that_does_not_exist(tmp_path: Path) -> None:
    body = (
        HEADER
        + "stack = Stack(name='s', services=[Service(name='a', build=Build(context='nope'))])\n"
    )
    assert problems(write(tmp_path, body)) == [
        f"services.a.build.context: folder {str(tmp_path.resolve() / 'nope')!r} does not exist; "
        "the path is relative to the stack file"
    ]


def test_unknown_network(tmp_path: Path) -> None:
    body = (
        HEADER
        + "stack = Stack(name='s', services=[Service(name='a', image='x', networks=['back'])])\n"
    )
    assert problems(write(tmp_path, body)) == [
        "services.a.networks.0: no network named 'back'; declare it in Stack(networks=[...])"
    ]


def test_all_whole_stack_problems_at_once(tmp_path: Path) -> None:
    body = HEADER + (
        "stack = Stack(name='s', services=[Service(name='a', image='x', depends_on=['zz'],"
        " networks=['back'])])\n"
    )
    assert len(problems(write(tmp_path, body))) == 2


YAML_STACK = """
name: shop
services:
  web:
    image: deployer/python:bookworm
    ports: ["127.0.0.1:8080:80", "9000"]
    healthcheck: {command: "true", interval: 5s}
    depends_on: [db]
  db:
    image: deployer/python:bookworm
networks:
  back: {internal: true}
"""


def test_yaml_stack(tmp_path: Path) -> None:
    stack = load(write(tmp_path, YAML_STACK, "stack.yaml"))
    web = stack.service("web")
    assert [(p.host_ip, p.host, p.container) for p in web.ports] == [
        ("127.0.0.1", 8080, 80),
        ("127.0.0.1", 0, 9000),
    ]
    assert [d.service for d in web.depends_on] == ["db"]
    assert stack.networks[0].internal is True


def test_yaml_errors_name_the_service(tmp_path: Path) -> None:
    text = YAML_STACK.replace("interval: 5s", "interval: later")
    assert problems(write(tmp_path, text, "stack.yaml")) == [
        "services.web.healthcheck.interval: invalid duration 'later': write a number with a "
        "unit, like '500ms', '5s', '1m30s' (got 'later')"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "name: x\nservices: [\n", "stack.yaml"))
    assert found[0].startswith("line 3: invalid YAML")


def test_yaml_services_must_be_a_mapping(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "name: x\nservices: [web]\n", "stack.yaml")) == [
        "services: must be a mapping from service name to its settings"
    ]


def test_default_stack_file_is_valid() -> None:
    stack = load(Path(__file__).parents[2] / "stack.py")
    assert {s.name for s in stack.services} == {"web", "nginx"}
    assert stack.service("web").replicas == 2
