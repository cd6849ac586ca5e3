"""Secrets: providers configured in c['secretsProviders'] and the manager asking them."""
