"""One small module per target of the registry; each reads only the registry model."""
