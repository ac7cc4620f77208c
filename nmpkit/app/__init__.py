"""nmpkit.app: the command line, its commands, the `nmpkit run` pipeline and its config."""
