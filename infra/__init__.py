"""Bazaar's CDK app: stacks and constructs built from ``bazaar.manifest`` and ``bazaar.resources``.

Infra reads only the pure-data modules of the shared package (manifest, resources, runtime); handler and
library code is copied into assets, never imported.
"""
