"""Dialects of the `/change_hook` web resource (`buildbot.www.change_hook`).

Each module names one dialect handler class, registered as a `buildbot.webhooks`
plugin: `handler = cls(master, options)`, then `handler.getChanges(request)` gives
(or a Deferred gives) `(change_dicts, src)`. A handler raises `ValueError` for a
request it cannot read (answered 400) and `HookForbidden` for one it refuses
(a bad signature or token, answered 403); either way no change is stored.
"""
