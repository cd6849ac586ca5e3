from twisted.trial import unittest

from buildbot.process import results
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)


class Flags(results.ResultComputingConfigMixin):
    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class TestResults(unittest.TestCase):
    def test_values_and_names(self):
        self.assertEqual(
            [SUCCESS, WARNINGS, FAILURE, SKIPPED, EXCEPTION, RETRY, CANCELLED], list(range(7))
        )
        self.assertEqual(results.Results[FAILURE], "failure")
        self.assertEqual(results.ALL_RESULTS, list(range(7)))

    def test_status_to_string(self):
        self.assertEqual(results.statusToString(None), "not finished")
        self.assertEqual(results.statusToString(99), "Invalid status")
        self.assertEqual(results.statusToString(SUCCESS), "success")
        self.assertEqual(results.statusToString(SUCCESS, count=2), "successes")
        self.assertEqual(results.statusToString(RETRY, count=3), "retries")
        self.assertEqual(results.statusToString(EXCEPTION, count=2), "exceptions")

    def test_worst_status_order(self):
        order = [SKIPPED, SUCCESS, WARNINGS, FAILURE, EXCEPTION, RETRY, CANCELLED]
        for i, better in enumerate(order):
            for worse in order[i:]:
                self.assertEqual(results.worst_status(better, worse), worse)
                self.assertEqual(results.worst_status(worse, better), worse)
        self.assertEqual(results.worst_status(None, FAILURE), FAILURE)
        self.assertEqual(results.worst_status(WARNINGS, None), WARNINGS)
        self.assertIsNone(results.worst_status(None, None))

    def test_failure_mapping(self):
        compute = results.computeResultAndTermination
        self.assertEqual(compute(Flags(), FAILURE, SUCCESS), (FAILURE, False))
        self.assertEqual(
            compute(Flags(flunkOnFailure=False, warnOnFailure=True), FAILURE, SUCCESS),
            (WARNINGS, False),
        )
        self.assertEqual(compute(Flags(flunkOnFailure=False), FAILURE, SUCCESS), (SUCCESS, False))
        self.assertEqual(compute(Flags(haltOnFailure=True), FAILURE, SUCCESS), (FAILURE, True))
        # flunkOnFailure takes precedence over warnOnFailure
        self.assertEqual(compute(Flags(warnOnFailure=True), FAILURE, SUCCESS), (FAILURE, False))

    def test_warnings_mapping(self):
        compute = results.computeResultAndTermination
        self.assertEqual(compute(Flags(), WARNINGS, SUCCESS), (SUCCESS, False))
        self.assertEqual(compute(Flags(warnOnWarnings=True), WARNINGS, SUCCESS), (WARNINGS, False))
        self.assertEqual(compute(Flags(flunkOnWarnings=True), WARNINGS, SUCCESS), (FAILURE, False))

    def test_terminating_results(self):
        compute = results.computeResultAndTermination
        for r in (EXCEPTION, RETRY, CANCELLED):
            self.assertEqual(compute(Flags(), r, SUCCESS), (r, True))

    def test_previous_result_kept_when_worse(self):
        compute = results.computeResultAndTermination
        self.assertEqual(compute(Flags(), SUCCESS, FAILURE), (FAILURE, False))
        self.assertEqual(compute(Flags(), SKIPPED, None), (SKIPPED, False))
