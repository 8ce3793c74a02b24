"""Settings: every YAML file the tool reads, validated by one schema, defaults in eqia/data."""
