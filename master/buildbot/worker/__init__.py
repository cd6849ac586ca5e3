"""Workers: their configuration, the master's side of their connection, latent workers."""

from buildbot.worker.base import AbstractWorker, Worker

__all__ = ["AbstractWorker", "Worker"]
