"""python -m visitorhub -> the CLI."""

from visitorhub.cli import main

main()
