"""The step library (``buildbot.plugins.steps``)."""
