"""Settings: the TOML config plus the environment, loaded once at the edge
(``config.load_settings``).
"""
