"""``python -m glasskey.cli`` — same as the ``glasskey`` console script."""

from glasskey.cli import main

main()
