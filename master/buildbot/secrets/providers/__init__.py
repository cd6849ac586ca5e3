"""The secret providers of c['secretsProviders'] (`buildbot.plugins.secrets`)."""
