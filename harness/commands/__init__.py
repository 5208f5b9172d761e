"""One module per CLI subcommand: `add_arguments(parser)` (light imports only) and `main(args) -> int`."""
