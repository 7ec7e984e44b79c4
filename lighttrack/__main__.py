"""``python -m lighttrack`` runs the CLI."""

from lighttrack.cli import main

main()
