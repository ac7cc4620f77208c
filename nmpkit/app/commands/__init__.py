"""Subcommands of the `nmpkit` CLI (see nmpkit/app/cli.py for the protocol); what several of them
share is in `nmpkit.app.commands.args`."""
