"""Command name -> implementation."""

from __future__ import annotations

from buildbot_worker.commands import fs, shell, transfer
from buildbot_worker.commands.base import COMMAND_VERSION, Command

COMMANDS: dict[str, type[Command]] = {
    "shell": shell.WorkerShellCommand,
    "uploadFile": transfer.WorkerFileUploadCommand,
    "uploadDirectory": transfer.WorkerDirectoryUploadCommand,
    "downloadFile": transfer.WorkerFileDownloadCommand,
    "mkdir": fs.MakeDirectory,
    "rmdir": fs.RemoveDirectory,
    "cpdir": fs.CopyDirectory,
    "stat": fs.StatFile,
    "glob": fs.GlobPath,
    "listdir": fs.ListDir,
    "rmfile": fs.RemoveFile,
    "move": fs.MoveFile,
}


def command_versions() -> dict[str, str]:
    return {name: COMMAND_VERSION for name in COMMANDS}
