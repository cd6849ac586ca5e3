"""Packaging helpers shared by the buildbot distributions."""
