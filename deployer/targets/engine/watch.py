"""`deployer watch` on one engine: file events (watchfiles, debounced) set off the services'
watch rules. A sync copies the files into every running replica through the engine's archive
API (so a remote engine works too); a restart goes replica by replica out of rotation; a
rebuild builds and rolls the service out start-first through the usual converge, so the old
version serves until its successor is healthy, and keeps serving if the build or the successor
fails."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from deployer.core.events import Note, Report, Warning
from deployer.core.state import ContainerInfo
from deployer.core.watching import Changed, Trigger, root_of, seen_by, triggers, watched_paths
from deployer.engine import Engine
from deployer.model.errors import DeployerError, Interrupted, StackError
from deployer.model.spec import Stack
from deployer.targets.engine.observe import observe

DEBOUNCE_MS = 300  # changes this close together are one batch (an editor's save is several)

Rebuild = Callable[[Stack, str], None]  # (stack, service): build and roll it out
Restart = Callable[[Stack, str], None]  # (stack, service): replica by replica


def check(stack: Stack, services: list[str]) -> list[str]:
    """What cannot be watched as written, each naming its field: no rules, a sync into a
    read-only root (files go only into a volume or tmpfs there)."""
    found = []
    for name in services:
        service = stack.service(name)
        where = f"services.{name}"
        writable = [m.target for m in service.mounts] + list(service.tmpfs)
        for index, rule in enumerate(service.watch):
            target = rule.target or ""
            inside = any(target == f or target.startswith(f.rstrip("/") + "/") for f in writable)
            if rule.action.startswith("sync") and service.read_only and not inside:
                found.append(f"{where}.watch.{index}.target: {target} is on the service's "
                             "read-only root; sync into a volume or tmpfs it mounts, or use "
                             "rebuild")  # fmt: skip
    if not any(stack.service(name).watch for name in services):
        found.append("no service has watch rules: add Service.watch (stack.py) or "
                     "develop.watch (Compose)")  # fmt: skip
    return found


class Watcher:
    def __init__(
        self, engine: Engine, stack: Stack, services: list[str], report: Report,
        rebuild: Rebuild, restart: Restart,
    ) -> None:  # fmt: skip
        problems = check(stack, services)
        if problems:
            raise StackError(f"stack {stack.name}: watch", problems)
        self.engine = engine
        self.stack = stack
        self.services = services
        self.report = report
        self.rebuild = rebuild
        self.restart = restart

    def initial_sync(self) -> None:
        """Every rule with initial_sync: its whole path into the replicas, once."""
        for name in self.services:
            for rule in self.stack.service(name).watch:
                if rule.initial_sync and rule.action.startswith("sync"):
                    root = root_of(self.stack, rule)
                    paths = [p for p in sorted(root.rglob("*")) if p.is_file()] or [root]
                    files = [
                        Changed(path, relative, deleted=False)
                        for path in paths
                        if (relative := seen_by(rule, root, path)) is not None
                    ]
                    self.sync(Trigger(name, rule, files))

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set (Ctrl-C sets it): each batch of changes, applied in turn."""
        import logging

        from watchfiles import Change, watch  # only `watch` needs it

        logging.getLogger("watchfiles").setLevel(logging.ERROR)  # deployer says what it does

        paths = watched_paths(self.stack, self.services)
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise StackError(f"stack {self.stack.name}: watch",
                             [f"{path}: nothing to watch there" for path in missing])  # fmt: skip
        self.report(Note(f"watching {', '.join(str(p) for p in paths)} (Ctrl-C ends it)"))
        for batch in watch(*paths, debounce=DEBOUNCE_MS, step=50, stop_event=stop,
                           raise_interrupt=False, yield_on_timeout=False):  # fmt: skip
            changes = [(Path(path), kind == Change.deleted) for kind, path in batch]
            self.apply(triggers(self.stack, self.services, changes))

    def apply(self, batch: list[Trigger]) -> None:
        for trigger in batch:
            started = time.monotonic()
            try:
                self._apply(trigger)
            except Interrupted as error:  # Ctrl-C during a rollout: say what is left, then end
                self.report(Warning(f"{trigger.service}: {trigger.rule.action} stopped: {error}"))
                raise KeyboardInterrupt from None
            except DeployerError as error:
                # The old version keeps serving; the next save tries again.
                self.report(Warning(f"{trigger.service}: {trigger.rule.action} failed: {error}"))
                continue
            self.report(Note(f"{trigger.service}: {trigger.rule.action} done in "
                             f"{time.monotonic() - started:.1f}s"))  # fmt: skip

    def _apply(self, trigger: Trigger) -> None:
        action, name = trigger.rule.action, trigger.service
        shown = ", ".join(f.relative or "." for f in trigger.files[:3])
        more = f" and {len(trigger.files) - 3} more" if len(trigger.files) > 3 else ""
        self.report(Note(f"{name}: {shown}{more} changed: {action}"))
        if action == "rebuild":
            if self._in_build_context(trigger):
                self.rebuild(self.stack, name)
            return
        if action.startswith("sync"):
            self.sync(trigger)
        if action in {"sync+restart", "restart"}:
            self.restart(self.stack, name)
        if action == "sync+exec" and trigger.rule.exec is not None:
            run = trigger.rule.exec
            for replica in self._running(name):
                code, output = self.engine.exec(replica.id, list(run.command), user=run.user,
                                                workdir=run.working_dir)  # fmt: skip
                if code != 0:
                    self.report(Warning(f"{replica.name}: {' '.join(run.command)} exited "
                                        f"{code}: {output.strip()[-200:]}"))  # fmt: skip

    def sync(self, trigger: Trigger) -> None:
        """The changed files into every running replica; deleted ones removed there."""
        present = [f for f in trigger.files if not f.deleted and f.host.is_file()]
        gone = [trigger.destination(f) for f in trigger.files if f.deleted]
        replicas = self._running(trigger.service)
        data = _tar(present, trigger) if present else b""
        for replica in replicas:
            if data:
                self.engine.put_archive(replica.id, "/", data)
            if gone:
                self.engine.exec(replica.id, ["rm", "-rf", "--", *gone])
        self.report(Note(f"{trigger.service}: {len(present) + len(gone)} file(s) synced to "
                         f"{len(replicas)} replica(s)"))  # fmt: skip

    def _running(self, service: str) -> list[ContainerInfo]:
        return [
            c for c in observe(self.engine, self.stack.name).service_containers(service)
            if c.state == "running"
        ]  # fmt: skip

    def _in_build_context(self, trigger: Trigger) -> bool:
        """A change .dockerignore leaves out of the build sets off no rebuild."""
        build = self.stack.service(trigger.service).build
        if build is None:
            return True
        from deployer.engine.context import context_files

        context = self.stack.resolve(build.context).resolve()
        sent = {context / path for path in context_files(context, build.dockerfile)}
        return any(f.deleted or f.host in sent or not f.host.is_relative_to(context)
                   for f in trigger.files)  # fmt: skip


def _tar(files: list[Changed], trigger: Trigger) -> bytes:
    """The files at their destinations (relative to /), with their modes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for file in files:
            archive.add(str(file.host), arcname=trigger.destination(file).lstrip("/"),
                        recursive=False)  # fmt: skip
    return buffer.getvalue()
