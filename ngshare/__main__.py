"""`python -m ngshare` runs the `ngshare` command."""

from ngshare.cli import main

main()
