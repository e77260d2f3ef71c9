"""Bazaar: the code every function shares (shipped to Lambda as the shared layer)."""
