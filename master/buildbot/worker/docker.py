"""`DockerLatentWorker`: a container per build (or per busy period), started through
the Docker API (docker-py, every call in a thread: the library blocks).

The container gets BUILDMASTER, BUILDMASTER_PORT, WORKERNAME, WORKERPASS and
BUILDMASTER_PROTOCOL in its environment and runs a worker that logs in with them
(see pkg/docker/). Containers carry labels naming the master and the worker, so that
a master starting again removes the containers an earlier run left behind.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import socket
from typing import Any

from twisted.internet import defer, threads
from twisted.python import log

from buildbot import config
from buildbot.process.properties import Properties
from buildbot.worker.latent import (
    AbstractLatentWorker,
    LatentWorkerCannotSubstantiate,
    LatentWorkerFailedToSubstantiate,
)

try:
    import docker
    from docker import errors as docker_errors
except ImportError:  # pragma: no cover - the `docker` extra is not installed
    docker = None
    docker_errors = None

LABEL_WORKER = "buildbot.worker"
LABEL_MASTER = "buildbot.master"
#: seconds `docker stop` waits before killing, outside a master shutdown
STOP_TIMEOUT = 10
#: lines of the container's output quoted when it fails to start
LOG_TAIL = 30


def _parse_volume(spec: str) -> tuple[str, str]:
    """'host:container[:mode]' -> (bind spec, container path)."""
    parts = spec.split(":")
    if len(parts) < 2:
        raise ValueError(f"invalid volume {spec!r}: expected 'host:container[:mode]'")
    return spec, parts[1]


class DockerLatentWorker(AbstractLatentWorker):
    default_build_wait_timeout = 0
    instance: dict[str, Any] | None = None

    def __init__(self, name: str, password: Any = None, *args: Any, **kwargs: Any) -> None:
        self.instance = None
        self._cleaned = False
        super().__init__(name, password, *args, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        password: Any,
        docker_host: Any,
        image: Any = None,
        command: Any = None,
        volumes: Any = None,
        dockerfile: Any = None,
        version: str | None = None,
        tls: Any = None,
        followStartupLogs: bool = False,
        masterFQDN: str | None = None,
        master_protocol: str = "pb",
        hostconfig: Any = None,
        autopull: bool = False,
        alwaysPull: bool = False,
        custom_context: bool = False,
        encoding: str = "gzip",
        buildargs: Any = None,
        hostname: Any = None,
        target: Any = "",
        **kwargs: Any,
    ) -> None:
        if docker is None:
            config.error("DockerLatentWorker needs the docker package (pip install docker)")
        if image is None and dockerfile is None:
            config.error(f"worker {self.name!r}: DockerLatentWorker needs an image or a dockerfile")
        if isinstance(volumes, list | tuple):
            for spec in volumes:
                if isinstance(spec, str):
                    try:
                        _parse_volume(spec)
                    except ValueError as e:
                        config.error(f"worker {self.name!r}: {e}")
        if master_protocol not in ("pb", "msgpack_experimental_v7"):
            config.error(f"worker {self.name!r}: unknown master_protocol {master_protocol!r}")
        super().checkConfig(password, **kwargs)

    async def reconfigService(  # type: ignore[override]
        self,
        password: Any,
        docker_host: Any,
        image: Any = None,
        command: Any = None,
        volumes: Any = None,
        dockerfile: Any = None,
        version: str | None = None,
        tls: Any = None,
        followStartupLogs: bool = False,
        masterFQDN: str | None = None,
        master_protocol: str = "pb",
        hostconfig: Any = None,
        autopull: bool = False,
        alwaysPull: bool = False,
        custom_context: bool = False,
        encoding: str = "gzip",
        buildargs: Any = None,
        hostname: Any = None,
        target: Any = "",
        **kwargs: Any,
    ) -> None:
        if password is None:
            # a random password, kept across reconfigs
            password = getattr(self, "password", None) or secrets.token_hex(16)
        self.docker_host = docker_host
        self.image = image
        self.command = command
        self.volumes = volumes or []
        self.dockerfile = dockerfile
        self.client_args: dict[str, Any] = {"base_url": docker_host}
        if version is not None:
            self.client_args["version"] = version
        if tls is not None:
            self.client_args["tls"] = tls
        self.followStartupLogs = followStartupLogs
        # getfqdn may ask a resolver: not on the reactor thread
        self.masterFQDN = masterFQDN or await threads.deferToThread(socket.getfqdn)
        self.master_protocol = master_protocol
        self.hostconfig = hostconfig or {}
        self.autopull = autopull
        self.alwaysPull = alwaysPull
        self.custom_context = custom_context
        self.encoding = encoding
        self.buildargs = buildargs
        self.hostname = hostname
        self.target = target
        await super().reconfigService(password, **kwargs)

    # --- identity -------------------------------------------------------------------

    def master_label(self) -> str:
        """Names this master across its restarts (host and base directory)."""
        name = getattr(self.master, "name", None) or "buildbot"
        return hashlib.sha1(str(name).encode()).hexdigest()[:16]

    def labels(self) -> dict[str, str]:
        return {LABEL_WORKER: self.name, LABEL_MASTER: self.master_label()}

    def _master_address(self) -> tuple[str, int | None]:
        fqdn = self.masterFQDN
        port: int | None = None
        if ":" in fqdn:
            fqdn, _, given = fqdn.rpartition(":")
            port = int(given)
        if port is None:
            protocols = getattr(getattr(self.master, "config", None), "protocols", None) or {}
            key = "pb" if self.master_protocol == "pb" else self.master_protocol
            spec = (protocols.get(key) or protocols.get("pb") or {}).get("port")
            found = re.search(r"(\d+)", str(spec)) if spec is not None else None
            if found:
                port = int(found.group(1))
        return fqdn, port

    def _client(self) -> Any:
        return docker.APIClient(**self.client_args)

    # --- the container ----------------------------------------------------------------

    async def _render(self, build: Any) -> dict[str, Any]:
        props = Properties()
        for req in getattr(build, "requests", None) or []:
            req_props = getattr(req, "properties", None)
            if req_props is not None:
                props.updateFromProperties(req_props)
        builder = getattr(build, "builder", None)
        if builder is not None:
            props.setProperty("buildername", builder.name, "Builder")
        props.setProperty("workername", self.name, "Worker")
        values = {
            "image": self.image,
            "command": self.command,
            "volumes": self.volumes,
            "dockerfile": self.dockerfile,
            "hostconfig": self.hostconfig,
            "buildargs": self.buildargs,
            "hostname": self.hostname,
            "custom_context": self.custom_context,
            "target": self.target,
        }
        return await props.render(values)

    def start_instance(self, build: Any) -> defer.Deferred[bool]:
        if self.instance is not None:
            raise ValueError(f"worker {self.name!r}: a container is already running")
        d = defer.ensureDeferred(self._render(build))
        return d.addCallback(lambda r: threads.deferToThread(self._thd_start, r))

    def _environment(self) -> dict[str, str]:
        host, port = self._master_address()
        env = {
            "BUILDMASTER": host,
            "WORKERNAME": self.name,
            "WORKERPASS": self.password,
            "BUILDMASTER_PROTOCOL": self.master_protocol,
        }
        if port is not None:
            env["BUILDMASTER_PORT"] = str(port)
        return env

    def _thd_image(self, client: Any, r: dict[str, Any]) -> str:
        image = r["image"]
        if r["dockerfile"]:
            tag = (
                image
                or f"buildbot-{self.name}-{hashlib.sha1(r['dockerfile'].encode()).hexdigest()[:12]}"
            )
            if not client.images(name=tag) or self.alwaysPull:
                log.msg(f"worker {self.name!r}: building image {tag!r}")
                build_args: dict[str, Any] = {"tag": tag, "rm": True, "decode": True}
                if r["buildargs"]:
                    build_args["buildargs"] = r["buildargs"]
                if r["target"]:
                    build_args["target"] = r["target"]
                if r["custom_context"]:
                    build_args["fileobj"] = io.BytesIO(r["dockerfile"].encode())
                    build_args["custom_context"] = True
                    build_args["encoding"] = self.encoding
                else:
                    build_args["fileobj"] = io.BytesIO(r["dockerfile"].encode())
                for line in client.build(**build_args):
                    if isinstance(line, dict) and line.get("error"):
                        raise LatentWorkerCannotSubstantiate(
                            f"building the image {tag!r} failed: {line['error'].strip()}"
                        )
            return tag
        present = bool(client.images(name=image))
        if self.alwaysPull or (self.autopull and not present):
            log.msg(f"worker {self.name!r}: pulling image {image!r}")
            try:
                client.pull(image)
                present = True
            except docker_errors.APIError as e:
                if not present:
                    raise LatentWorkerCannotSubstantiate(
                        f"image {image!r} not found and could not be pulled: {e}"
                    ) from e
        if not present:
            raise LatentWorkerCannotSubstantiate(
                f"image {image!r} not found on {self.docker_host} "
                "(build or pull it, or set autopull=True)"
            )
        return image

    def _thd_start(self, r: dict[str, Any]) -> bool:
        client = self._client()
        image = self._thd_image(client, r)
        binds = []
        mounts = []
        for spec in r["volumes"] or []:
            bind, path = _parse_volume(spec)
            binds.append(bind)
            mounts.append(path)
        hostconfig = dict(r["hostconfig"] or {})
        if binds:
            hostconfig["binds"] = list(hostconfig.get("binds") or []) + binds
        host_config = client.create_host_config(**hostconfig)
        instance = client.create_container(
            image,
            r["command"],
            name=f"buildbot-{self.name}-{secrets.token_hex(4)}",
            environment=self._environment(),
            labels=self.labels(),
            volumes=mounts or None,
            host_config=host_config,
            hostname=r["hostname"],
        )
        cid = instance["Id"]
        self.instance = {"Id": cid, "image": image}
        try:
            client.start(container=cid)
        except Exception:
            self.instance = None
            client.remove_container(cid, v=True, force=True)
            raise
        log.msg(f"worker {self.name!r}: container {cid[:12]} started from {image!r}")
        return True

    def check_instance(self) -> defer.Deferred[tuple[bool, str]]:
        instance = self.instance
        if instance is None:
            return defer.succeed((False, "the container is gone"))
        return threads.deferToThread(self._thd_check, instance["Id"])

    def _thd_check(self, cid: str) -> tuple[bool, str]:
        client = self._client()
        try:
            state = client.inspect_container(cid)["State"]
        except docker_errors.NotFound:
            return False, f"container {cid[:12]} disappeared"
        if state.get("Running"):
            return True, ""
        tail = client.logs(cid, tail=LOG_TAIL).decode("utf-8", "replace").rstrip()
        why = f"container {cid[:12]} exited with code {state.get('ExitCode')} while starting"
        return False, why + (f"; its last output:\n{tail}" if tail else "")

    def stop_instance(self, fast: bool = False) -> defer.Deferred[None]:
        instance, self.instance = self.instance, None
        if instance is None:
            return defer.succeed(None)
        return threads.deferToThread(self._thd_stop, instance, fast)

    def _thd_stop(self, instance: dict[str, Any], fast: bool) -> None:
        client = self._client()
        cid = instance["Id"]
        log.msg(f"worker {self.name!r}: removing container {cid[:12]}")
        try:
            if not fast:
                client.stop(cid, timeout=STOP_TIMEOUT)
            client.remove_container(cid, v=True, force=True)
        except docker_errors.NotFound:
            pass

    # --- leftovers of an earlier run ------------------------------------------------------

    async def startService(self) -> None:  # type: ignore[override]
        await super().startService()
        if not self._cleaned:
            self._cleaned = True
            try:
                removed = await threads.deferToThread(self._thd_remove_orphans)
            except Exception as e:
                log.msg(f"worker {self.name!r}: could not look for leftover containers: {e}")
            else:
                if removed:
                    log.msg(f"worker {self.name!r}: removed leftover containers {removed}")

    def _thd_remove_orphans(self) -> list[str]:
        client = self._client()
        filters = {"label": [f"{k}={v}" for k, v in self.labels().items()]}
        removed = []
        for c in client.containers(all=True, filters=filters):
            if self.instance is not None and c["Id"] == self.instance["Id"]:
                continue
            client.remove_container(c["Id"], v=True, force=True)
            removed.append(c["Id"][:12])
        return removed


__all__ = [
    "DockerLatentWorker",
    "LatentWorkerCannotSubstantiate",
    "LatentWorkerFailedToSubstantiate",
]
