"""`python -m obic_core.cli ...`: the `obic` command without the console script."""

import sys

from obic_core.cli import main

sys.exit(main())
