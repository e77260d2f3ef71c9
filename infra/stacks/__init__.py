"""Bazaar's two stacks: ``stateful`` (data, identity, network, cache) and ``stateless`` (API, functions,
messaging, alarms). The stateless stack can be destroyed and redeployed at will; nothing in it holds data
that is not recomputable or redrivable."""
