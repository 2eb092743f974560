"""``python -m infinityframe``: the ``infinityframe`` command."""

import sys

from .cli import main

sys.exit(main())
