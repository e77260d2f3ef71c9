"""Pydantic models at the edges: what clients send and receive (also the OpenAPI schemas) and the events the
consumers read; the rules they check beyond types (``rules``), and the validators compiled from them that the
functions run without importing pydantic (``compiler`` writes ``compiled.json``, ``compiled`` runs it)."""
