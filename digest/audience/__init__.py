"""Who receives editions: the subscriber list file, imports and management."""
