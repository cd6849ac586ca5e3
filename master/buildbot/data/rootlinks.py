"""The deprecated root of the data API: a list of the top-level collections."""

from __future__ import annotations

from buildbot.data import base


class RootEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/"

    async def get(self, resultSpec, kwargs):
        names = {
            ep.rootLinkName
            for _, ep in self.master.data.matcher.items()
            if ep.rootLinkName is not None
        }
        return [{"name": name} for name in sorted(names)]


class RootLink(base.ResourceType):
    name = "rootlink"
    plural = "rootlinks"
    endpoints = [RootEndpoint]
    fields = {"name": "str"}
