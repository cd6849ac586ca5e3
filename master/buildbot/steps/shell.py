"""Shell steps: a command on the worker, and the steps built on one."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import Any

from buildbot import config
from buildbot.process import buildstep, logobserver
from buildbot.process.results import FAILURE, SUCCESS, WARNINGS, worst_status

_UNSET: Any = object()


def _check_command(step: Any) -> None:
    # a subclass with a class-level command does not need one passed
    if step.command is None and type(step).command is None:
        config.error(f"{type(step).__name__}'s `command' argument is not specified")


class ShellCommand(buildstep.ShellMixin, buildstep.BuildStep):
    """Runs `command` on the worker; the result is the command's (by `decodeRC`)."""

    name = "shell"

    def __init__(self, **kwargs: Any) -> None:
        kwargs = self.setupShellMixin(kwargs)
        super().__init__(**kwargs)
        _check_command(self)

    async def run(self) -> int:
        cmd = await self.makeRemoteShellCommand()
        await self.runCommand(cmd)
        return cmd.results()


class Configure(ShellCommand):
    name = "configure"
    haltOnFailure = True
    flunkOnFailure = True
    description = "configuring"
    descriptionDone = "configure"
    command = ["./configure"]


class SetPropertyFromCommand(buildstep.ShellMixin, buildstep.BuildStep):
    """Sets properties from the output of a command."""

    name = "setproperty"
    renderables = ["property"]
    source = "SetPropertyFromCommand Step"

    def __init__(
        self,
        property: Any = None,
        extract_fn: Callable[[int, str, str], dict[str, Any]] | None = None,
        strip: bool = True,
        includeStdout: bool = True,
        includeStderr: bool = False,
        **kwargs: Any,
    ) -> None:
        self.property = property
        self.extract_fn = extract_fn
        self.strip = strip
        self.includeStdout = includeStdout
        self.includeStderr = includeStderr
        if (property is None) == (extract_fn is None):
            config.error("SetPropertyFromCommand: exactly one of property and extract_fn")
        kwargs = self.setupShellMixin(kwargs)
        super().__init__(**kwargs)
        _check_command(self)
        self.property_changes: dict[str, Any] = {}

    async def run(self) -> int:
        cmd = await self.makeRemoteShellCommand(collectStdout=True, collectStderr=True)
        await self.runCommand(cmd)
        result = cmd.results()
        stdout = cmd.stdout if self.includeStdout else ""
        stderr = cmd.stderr
        if self.property is not None:
            if result != SUCCESS:
                return result
            value = stdout + (stderr if self.includeStderr else "")
            self._set({self.property: value.strip() if self.strip else value})
        else:
            assert self.extract_fn is not None
            self._set(self.extract_fn(cmd.rc, stdout, stderr) or {})
            if cmd.didFail():
                result = FAILURE
        await self.addCompleteLog(
            "property changes",
            "".join(f"{k}: {v!r}\n" for k, v in self.property_changes.items()),
        )
        return result

    def _set(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.setProperty(name, value, self.source, runtime=True)
            self.property_changes[name] = value

    def getResultSummary(self) -> Any:
        changes = self.property_changes
        if len(changes) == 1:
            return {"step": f"property '{next(iter(changes))}' set"}
        if changes:
            return {"step": f"{len(changes)} properties set"}
        return super().getResultSummary()


class WarningCountingShellCommand(buildstep.ShellMixin, buildstep.BuildStep):
    """A shell command whose output is scanned for warnings.

    Each stdio line matching `warningPattern` is a warning, unless a suppression
    (`suppressionList`: (file regex, warning regex, first line, last line) tuples)
    covers it. Warnings go to the log ``warnings (N)``, the statistic ``warnings``
    and the build property ``warnings-count``; any warning makes the step at least
    WARNINGS, more than `maxWarnCount` makes it FAILURE.
    """

    renderables = ["suppressionFile"]
    warningPattern: Any = "(?i).*warning[: ].*"
    directoryEnterPattern = "make.*: Entering directory [\u2019\"`'](.*)[\u2019'`\"]"
    directoryLeavePattern = "make.*: Leaving directory"
    suppressionFile: Any = None
    maxWarnCount: int | None = None

    def __init__(
        self,
        warningPattern: Any = _UNSET,
        warningExtractor: Callable[..., Any] | None = None,
        maxWarnCount: int | None = None,
        directoryEnterPattern: str | None = None,
        directoryLeavePattern: str | None = None,
        suppressionFile: Any = None,
        suppressionList: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if warningPattern is not _UNSET:
            self.warningPattern = warningPattern
        if directoryEnterPattern is not None:
            self.directoryEnterPattern = directoryEnterPattern
        if directoryLeavePattern is not None:
            self.directoryLeavePattern = directoryLeavePattern
        if suppressionFile is not None:
            self.suppressionFile = suppressionFile
        self.maxWarnCount = maxWarnCount
        self.warningExtractor = warningExtractor or type(self).warnExtractWholeLine
        self.suppressions: list[tuple[Any, Any, int | None, int | None]] = []
        kwargs = self.setupShellMixin(kwargs)
        super().__init__(**kwargs)
        _check_command(self)
        if suppressionList is not None:
            self.addSuppression(suppressionList)
        self.warnCount = 0
        self.loggedWarnings: list[str] = []
        self._directories: list[str] = []

    # --- extracting and suppressing ---

    @staticmethod
    def warnExtractWholeLine(step: Any, line: str, match: Any) -> tuple[Any, Any, str]:
        return (None, None, line)

    @staticmethod
    def warnExtractFromRegexpGroups(step: Any, line: str, match: Any) -> tuple[Any, Any, str]:
        file, lineno, text = match.groups()[:3]
        return (file, int(lineno) if lineno else None, text)

    def addSuppression(self, suppressionList: list[Any]) -> None:
        for entry in suppressionList:
            file_re, warn_re, start, end = (list(entry) + [None, None])[:4]
            file_re = re.compile(file_re) if isinstance(file_re, str) else file_re
            warn_re = re.compile(warn_re) if isinstance(warn_re, str) else warn_re
            if end is None and start is not None:
                end = start
            self.suppressions.append((file_re, warn_re, start, end))

    def _suppressed(self, file: str | None, lineno: int | None, text: str) -> bool:
        for file_re, warn_re, start, end in self.suppressions:
            if file_re is not None and (file is None or not file_re.search(file)):
                continue
            if warn_re is not None and not warn_re.search(text):
                continue
            if start is not None and (lineno is None or not start <= lineno <= end):
                continue
            return True
        return False

    def _compile(self, pattern: Any) -> Any:
        return re.compile(pattern) if isinstance(pattern, str) else pattern

    def _consume_lines(self) -> Generator[None, tuple[str, str], None]:
        warning_re = self._compile(self.warningPattern)
        enter_re = self._compile(self.directoryEnterPattern)
        leave_re = self._compile(self.directoryLeavePattern)
        while True:
            stream, line = yield
            if stream not in ("o", "e") or warning_re is None:
                continue
            if enter_re is not None and (m := enter_re.search(line)):
                self._directories.append(m.group(1))
                continue
            if leave_re is not None and leave_re.search(line):
                if self._directories:
                    self._directories.pop()
                continue
            match = warning_re.match(line)
            if not match:
                continue
            file, lineno, text = self.warningExtractor(self, line, match)
            if file is not None and self._directories:
                file = f"{self._directories[-1]}/{file}"
            if self.suppressions and self._suppressed(file, lineno, text):
                continue
            self.loggedWarnings.append(line)
            self.warnCount += 1

    # --- running ---

    async def run(self) -> int:
        if self.suppressionFile is not None:
            await self._read_suppression_file()
        self.addLogObserver("stdio", logobserver.LineConsumerLogObserver(self._consume_lines))
        cmd = await self.makeRemoteShellCommand()
        await self.runCommand(cmd)
        await self.createSummary()
        await self._record_warnings()
        return self.evaluateCommand(cmd)

    async def _read_suppression_file(self) -> None:
        from buildbot.steps.worker import CompositeStepMixin

        text = await CompositeStepMixin.getFileContentFromWorker(
            self, self.suppressionFile, abandonOnFailure=True
        )
        entries = []
        for raw in text.splitlines():
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            file_re, _, rest = raw.partition(" : ")
            warn_re, _, lines = rest.partition(" : ")
            start = end = None
            if lines:
                first, _, last = lines.partition("-")
                start, end = int(first), int(last or first)
            entries.append((file_re.strip() or None, warn_re.strip() or None, start, end))
        self.addSuppression(entries)

    async def createSummary(self) -> None:
        """Hook run after the command, before `evaluateCommand`."""

    async def _record_warnings(self) -> None:
        if not self.warnCount:
            return
        await self.addCompleteLog(
            f"warnings ({self.warnCount})", "\n".join(self.loggedWarnings) + "\n"
        )
        self.setStatistic("warnings", self.warnCount)
        previous = self.getProperty("warnings-count", 0)
        self.setProperty("warnings-count", previous + self.warnCount, "WarningCountingShellCommand")

    def evaluateCommand(self, cmd: Any) -> int:
        result = cmd.results()
        if self.maxWarnCount is not None and self.warnCount > self.maxWarnCount:
            result = worst_status(result, FAILURE)
        elif self.warnCount:
            result = worst_status(result, WARNINGS)
        return result


class Compile(WarningCountingShellCommand):
    name = "compile"
    haltOnFailure = True
    flunkOnFailure = True
    description = "compiling"
    descriptionDone = "compile"
    command = ["make", "all"]


class Test(WarningCountingShellCommand):
    name = "test"
    warnOnFailure = True
    description = "testing"
    descriptionDone = "test"
    command = ["make", "test"]

    def setTestResults(
        self, total: int = 0, failed: int = 0, passed: int = 0, warnings: int = 0
    ) -> None:
        """Add to the test counts shown in the summary (and kept as statistics)."""
        for key, value in (
            ("tests-total", total),
            ("tests-failed", failed),
            ("tests-passed", passed),
            ("tests-warnings", warnings),
        ):
            self.setStatistic(key, self.getStatistic(key, 0) + value)

    def getResultSummary(self) -> Any:
        summary = super().getResultSummary()
        total = self.getStatistic("tests-total", 0)
        if not total:
            return summary
        parts = [f"{total} tests"]
        for key, label in (("tests-passed", "passed"), ("tests-warnings", "warnings")):
            if self.getStatistic(key, 0):
                parts.append(f"{self.getStatistic(key)} {label}")
        if self.getStatistic("tests-failed", 0):
            parts.append(f"{self.getStatistic('tests-failed')} failed")
        return {**summary, "step": summary["step"] + " " + " ".join(parts)}
