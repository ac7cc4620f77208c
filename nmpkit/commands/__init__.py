"""Subcommands of the `nmpkit` CLI (see nmpkit/cli.py for the protocol)."""
