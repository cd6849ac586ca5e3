"""The database layer: schema (`model`), versions (`migrate`, `migrations`),
engines (`enginestrategy`) and the thread pool every query runs in (`pool`).

Only `buildbot.util` is imported from here; the layers above reach the
database through `buildbot.data`.
"""
