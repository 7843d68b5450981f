"""One module per subcommand; each returns its exit code."""
