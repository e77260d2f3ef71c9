"""Pydantic models at the HTTP edge: what clients send and receive (also the OpenAPI schemas)."""
