"""`python -m ngshare` runs the `ngshare` command."""

from ngshare.config import main

main()
