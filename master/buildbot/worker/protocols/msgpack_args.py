"""How a step's command and arguments travel over ``msgpack_experimental_v7``.

The master resolves every path to an absolute path on the worker and renames a few
commands; writer and reader objects stay on the master, keyed by the command id.
"""

from __future__ import annotations

import ntpath
import posixpath
from dataclasses import dataclass
from typing import Any

#: step command name -> the name sent on this transport
COMMAND_NAMES = {
    "uploadFile": "upload_file",
    "uploadDirectory": "upload_directory",
    "downloadFile": "download_file",
}


@dataclass
class WorkerPaths:
    """Path syntax and places of one worker, from what it reported (`getWorkerInfo`)."""

    basedir: str
    system: str | None = None
    environ: dict[str, Any] | None = None

    @property
    def module(self) -> Any:
        return ntpath if self.system == "nt" else posixpath

    def expanduser(self, path: str) -> str:
        if not path.startswith("~"):
            return path
        env = self.environ or {}
        home = env.get("USERPROFILE" if self.system == "nt" else "HOME")
        if not home:
            return path
        head, sep, rest = path[1:].partition(self.module.sep)
        if head:  # ~user: not ours to resolve
            return path
        return self.module.join(home, rest) if sep else home

    def resolve(self, root: str, *parts: str | None) -> str:
        """`parts` (each may be absolute or start with ~) joined below `root`."""
        return self.module.join(root, *(self.expanduser(p) for p in parts if p))

    def builder_dir(self, builddir: str | None) -> str:
        return self.resolve(self.basedir, builddir)


@dataclass
class WireCommand:
    name: str
    args: dict[str, Any]
    writer: Any = None
    reader: Any = None


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, int) and value == 1)


def translate(
    command: str, args: dict[str, Any], paths: WorkerPaths, builddir: str | None
) -> WireCommand:
    """The msgpack form of `command` with `args` for a builder whose directory on the
    worker is `builddir` (None: paths are relative to the worker's base directory)."""
    args = dict(args)
    writer = args.pop("writer", None)
    reader = args.pop("reader", None)
    root = paths.builder_dir(builddir)

    def resolve(*parts: Any) -> str:
        return paths.resolve(root, *parts)

    if command == "shell":
        if "workdir" in args:
            args["workdir"] = resolve(args["workdir"])
        for key in ("want_stdout", "want_stderr"):
            if key in args:
                args[key] = _flag(args[key])
    elif command == "uploadFile" or command == "uploadDirectory":
        src = args.get("workersrc", args.get("slavesrc"))
        args["path"] = resolve(args.get("workdir"), src)
    elif command == "downloadFile":
        dest = args.get("workerdest", args.get("slavedest"))
        args["path"] = resolve(args.get("workdir"), dest)
    elif command in ("mkdir", "rmdir"):
        dirs = args.pop("dir", None)
        if dirs is not None:
            dirs = [dirs] if isinstance(dirs, str) else list(dirs)
            args["paths"] = [resolve(d) for d in dirs]
    elif command == "cpdir":
        if "fromdir" in args:
            args["from_path"] = resolve(args.pop("fromdir"))
        if "todir" in args:
            args["to_path"] = resolve(args.pop("todir"))
    elif command == "stat":
        if "file" in args:
            args["path"] = resolve(args.get("workdir"), args.pop("file"))
    elif command == "listdir":
        if "dir" in args:
            args["path"] = resolve(args.pop("dir"))
    elif command in ("glob", "rmfile"):
        if "path" in args:
            args["path"] = resolve(args["path"])
    return WireCommand(COMMAND_NAMES.get(command, command), args, writer, reader)


def update_value(key: str, value: Any) -> Any:
    """An `update` value as the PB form has it: output streams come as
    ``[text, [newline offsets], [times]]``, logs as ``[name, [text, ...]]``."""
    if key in ("stdout", "stderr", "header"):
        return _lines_text(value)
    if key == "log":
        name, lines = value
        return (name, _lines_text(lines))
    if key == "stat" and isinstance(value, list):
        return tuple(value)
    return value


def _lines_text(value: Any) -> Any:
    if isinstance(value, list | tuple) and value:
        return value[0]
    return value
