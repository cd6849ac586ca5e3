from twisted.trial import unittest

from buildbot import config
from buildbot.config.errors import ConfigErrors, capture_config_errors


class TestConfigErrors(unittest.TestCase):
    def test_error_outside_capture_raises_at_once(self):
        with self.assertRaises(ConfigErrors) as cm:
            config.error("bad value for 'title'")
        self.assertEqual(cm.exception.errors, ["bad value for 'title'"])
        self.assertEqual(str(cm.exception), "bad value for 'title'")

    def test_errors_are_collected_together(self):
        with capture_config_errors() as errors:
            config.error("first")
            config.error("second")
        self.assertEqual(errors.errors, ["first", "second"])
        self.assertTrue(errors)

    def test_always_raise_inside_capture(self):
        with capture_config_errors() as errors:
            with self.assertRaises(ConfigErrors):
                config.error("fatal", always_raise=True)
        self.assertFalse(errors)

    def test_raise_on_error(self):
        with self.assertRaises(ConfigErrors) as cm:
            with capture_config_errors(raise_on_error=True):
                config.error("one")
                config.error("two")
        self.assertEqual(cm.exception.errors, ["one", "two"])
        # nothing is collected any more once the block is left
        self.assertRaises(ConfigErrors, config.error, "later")

    def test_no_error_no_raise(self):
        with capture_config_errors(raise_on_error=True) as errors:
            pass
        self.assertFalse(errors)

    def test_raised_config_errors_are_merged(self):
        with capture_config_errors() as errors:
            config.error("collected")
            raise ConfigErrors(["raised", "also raised"])
        self.assertEqual(errors.errors, ["collected", "raised", "also raised"])

    def test_nested_capture_hands_errors_to_the_outer_one(self):
        with capture_config_errors() as outer:
            config.error("outer")
            with capture_config_errors() as inner:
                config.error("inner")
            self.assertEqual(inner.errors, ["inner"])
            with capture_config_errors(raise_on_error=True):
                config.error("inner raised")
        self.assertEqual(outer.errors, ["outer", "inner", "inner raised"])

    def test_add_error(self):
        errors = ConfigErrors()
        self.assertFalse(errors)
        errors.addError("x")
        self.assertEqual(errors.errors, ["x"])

    def test_collection_is_per_thread(self):
        # a config loaded in a thread does not catch errors raised on the reactor thread
        import threading

        started, release = threading.Event(), threading.Event()
        collected = []

        def load():
            with capture_config_errors() as errors:
                config.error("in the loading thread")
                started.set()
                release.wait(10)
            collected.extend(errors.errors)

        thread = threading.Thread(target=load)
        thread.start()
        started.wait(10)
        try:
            with self.assertRaises(ConfigErrors):
                config.error("on the main thread")
        finally:
            release.set()
            thread.join(10)
        self.assertEqual(collected, ["in the loading thread"])
