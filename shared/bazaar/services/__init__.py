"""Use cases: orchestrate domain rules with repositories and caches (the ports), no AWS SDK here."""
