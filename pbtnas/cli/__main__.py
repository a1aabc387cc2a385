"""`python -m pbtnas.cli ...`, the same as the `pbtnas` console script."""

from pbtnas.cli.main import main

main()
