"""``python -m demandsim``: see :mod:`demandsim.cli`."""

import sys

from demandsim.cli import main

if __name__ == "__main__":
    sys.exit(main())
