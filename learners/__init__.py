"""Parameter providers (torch models, imported lazily); not yet built."""
