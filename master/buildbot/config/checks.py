"""Consistency checks across the keys of a loaded MasterConfig.

Each check skips what depends on a key that already failed to load (listed in
`failed`), so that one mistake is reported once.
"""

from __future__ import annotations

from typing import Any

from buildbot import interfaces
from buildbot.config.errors import error


def _renderable(value: Any) -> bool:
    return interfaces.IRenderable.providedBy(value)


def _scheduler_builder_names(scheduler: Any) -> list[Any] | None:
    """The builder names of `scheduler`, or None when they are only known per build."""
    names = scheduler.listBuilderNames()
    if _renderable(names):
        return None
    return list(names)


def check_single_master(cfg: Any, failed: set[str]) -> None:
    """What only holds when this master is the only one: it has workers and builders,
    and every builder is driven by a scheduler."""
    if cfg.multiMaster:
        return
    if not cfg.workers and "workers" not in failed:
        error("no workers are configured")
    if not cfg.builders and "builders" not in failed:
        error("no builders are configured")
    if "schedulers" in failed:
        return
    unscheduled = {b.name for b in cfg.builders}
    for s in cfg.schedulers.values():
        names = _scheduler_builder_names(s)
        if names is None or any(_renderable(n) for n in names):
            return
        unscheduled.difference_update(names)
    if unscheduled:
        error(f"builder(s) {', '.join(sorted(unscheduled))} have no schedulers to drive them")


def check_schedulers(cfg: Any, failed: set[str]) -> None:
    if cfg.multiMaster or "builders" in failed:
        return
    builder_names = {b.name for b in cfg.builders}
    for s in cfg.schedulers.values():
        for n in _scheduler_builder_names(s) or []:
            if not _renderable(n) and n not in builder_names:
                error(f"Unknown builder '{n}' in scheduler '{s.name}'")


def check_builders(cfg: Any, failed: set[str]) -> None:
    """Builder names and builddirs are unique; builders name existing workers."""
    workernames = {w.workername for w in cfg.workers}
    seen_names: set[str] = set()
    seen_builddirs: set[str] = set()
    for b in cfg.builders:
        unknown = [n for n in b.workernames if n not in workernames]
        if unknown and "workers" not in failed:
            error(f"builder '{b.name}' uses unknown workers {', '.join(map(repr, unknown))}")
        if b.name in seen_names:
            error(f"duplicate builder name '{b.name}'")
        seen_names.add(b.name)
        if b.builddir in seen_builddirs:
            error(f"duplicate builder builddir '{b.builddir}'")
        seen_builddirs.add(b.builddir)


def check_workers(cfg: Any, failed: set[str]) -> None:
    seen: set[str] = set()
    for w in cfg.workers:
        if w.workername in seen:
            error(f"duplicate worker name '{w.workername}'")
        seen.add(w.workername)


def check_change_sources(cfg: Any, failed: set[str]) -> None:
    seen: set[str] = set()
    for s in cfg.change_sources:
        name = getattr(s, "name", None)
        if name is None:
            continue
        if name in seen:
            error(f"duplicate change source name '{name}'")
        seen.add(name)


def check_locks(cfg: Any, failed: set[str]) -> None:
    """Locks used under one name must all be the same lock."""
    from buildbot import locks

    by_name: dict[str, Any] = {}
    for b in cfg.builders:
        if _renderable(b.locks):
            continue
        for lock in b.locks:
            if isinstance(lock, locks.LockAccess):
                lock = lock.lockid
            if not isinstance(lock, locks.BaseLockId):
                continue
            known = by_name.setdefault(lock.name, lock)
            if known != lock:
                error(f"Two locks share the same name, '{lock.name}'")


def check_projects(cfg: Any, failed: set[str]) -> None:
    project_names: set[str] = set()
    for p in cfg.projects:
        if p.name in project_names:
            error(f"duplicate project name '{p.name}'")
        project_names.add(p.name)
    if "projects" in failed:
        return
    for b in cfg.builders:
        if b.project is not None and b.project not in project_names:
            error(f"builder '{b.name}' uses unknown project '{b.project}'")
    seen: set[tuple[Any, str]] = set()
    for cb in cfg.codebases:
        project = getattr(cb, "project", None)
        if project not in project_names:
            error(f"codebase '{cb.name}' uses unknown project '{project}'")
        if (project, cb.name) in seen:
            error(f"duplicate codebase name '{cb.name}' in project '{project}'")
        seen.add((project, cb.name))


def check_ports(cfg: Any, failed: set[str]) -> None:
    if "protocols" in failed:
        return
    ports: set[Any] = set()
    for proto, options in cfg.protocols.items():
        if proto == "null":
            ports.add(("null",))
            continue
        port = options.get("port")
        if port is None:
            continue
        if isinstance(port, int):
            port = f"tcp:{port}"
        if port in ports:
            error(f"port {port} is used more than once in c['protocols']")
        ports.add(port)
    if cfg.workers and not ports:
        error("workers are configured, but c['protocols'] not")


def check_machines(cfg: Any, failed: set[str]) -> None:
    names: set[str] = set()
    for m in cfg.machines:
        if m.name in names:
            error(f"duplicate machine name '{m.name}'")
        names.add(m.name)
    if "machines" in failed:
        return
    for w in cfg.workers:
        machine = getattr(w, "machine_name", None)
        if machine is not None and machine not in names:
            error(f"worker '{w.workername}' uses unknown machine '{machine}'")


ALL_CHECKS = (
    check_single_master,
    check_schedulers,
    check_locks,
    check_projects,
    check_builders,
    check_workers,
    check_change_sources,
    check_ports,
    check_machines,
)
