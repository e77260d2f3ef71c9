"""Reusable pieces of the Bazaar stacks."""
