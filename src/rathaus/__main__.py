"""`python -m rathaus` runs the command line."""

from rathaus.cli import main

main()
