"""CLI command modules. Each registers its commands on ``cluster_credit_cli.cli.app``."""
