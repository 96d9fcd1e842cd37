"""CLI command modules: each exposes ``app`` (its top-level commands) or a sub-app; ``cli.py`` registers them."""
