"""``python -m demandsim``: see :mod:`demandsim.cli`."""

import sys

if __name__ == "__main__":
    from demandsim.help import help_text, wants_help

    if wants_help(sys.argv[1:]):  # before importing the command line, which loads Hydra
        print(help_text())
        sys.exit(0)
    from demandsim.cli import main

    sys.exit(main())
