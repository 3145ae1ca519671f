"""``python -m levelhead`` runs the command line."""

from levelhead.cli import main

main()
