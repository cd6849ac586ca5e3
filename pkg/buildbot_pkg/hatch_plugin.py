"""Hatchling plugins: the shared version source and the web UI build hook.

Enabled in a distribution's pyproject.toml with::

    [tool.hatch.version]
    source = "buildbot"

    [tool.hatch.build.targets.wheel.hooks.buildbot-www]
    package = "buildbot_www"        # where the assets land inside the wheel
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl
from hatchling.version.source.plugin.interface import VersionSourceInterface

from buildbot_pkg.version import compute_version


class BuildbotVersionSource(VersionSourceInterface):
    PLUGIN_NAME = "buildbot"

    def get_version_data(self) -> dict[str, Any]:
        return {"version": compute_version(self.root)}


class WwwAssetsBuildHook(BuildHookInterface):
    """Builds the web UI with npm and puts the output into the wheel.

    Options (all optional):

    - ``package``: the import package the assets belong to (default ``buildbot_www``);
      they land in ``<package>/static``;
    - ``output-dir``: what the npm build writes (default ``dist``);
    - ``install-command`` / ``build-command``: argument lists (default
      ``npm ci`` or ``npm install`` when there is no lock file, then ``npm run build``).

    ``BUILDBOT_WWW_SKIP_BUILD=1`` packs whatever ``output-dir`` already holds.
    A missing or failing build is an error: a wheel without its UI must not be
    produced silently.
    """

    PLUGIN_NAME = "buildbot-www"

    def _commands(self) -> list[list[str]]:
        install = self.config.get("install-command")
        if install is None:
            lock = os.path.join(self.root, "package-lock.json")
            install = ["npm", "ci"] if os.path.exists(lock) else ["npm", "install"]
        build = self.config.get("build-command", ["npm", "run", "build"])
        return [list(install), list(build)]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        # an editable install serves the assets from the source tree (the npm build
        # writes them there); only a real wheel builds and packs them
        if self.target_name != "wheel" or version == "editable":
            return
        out_dir = os.path.join(self.root, self.config.get("output-dir", "dist"))
        if os.environ.get("BUILDBOT_WWW_SKIP_BUILD") != "1":
            for cmd in self._commands():
                if shutil.which(cmd[0]) is None:
                    raise RuntimeError(f"buildbot-www: '{cmd[0]}' not found; it is needed to build")
                self.app.display_info(f"buildbot-www: running {' '.join(cmd)}")
                result = subprocess.run(cmd, cwd=self.root)
                if result.returncode != 0:
                    raise RuntimeError(
                        f"buildbot-www: {' '.join(cmd)} failed with exit code {result.returncode}"
                    )
        if not os.path.isdir(out_dir) or not os.listdir(out_dir):
            raise RuntimeError(f"buildbot-www: no built assets in {out_dir}")
        package = self.config.get("package", "buildbot_www")
        build_data.setdefault("force_include", {})[out_dir] = f"{package}/static"


@hookimpl
def hatch_register_version_source() -> type[VersionSourceInterface]:
    return BuildbotVersionSource


@hookimpl
def hatch_register_build_hook() -> type[BuildHookInterface]:
    return WwwAssetsBuildHook
