"""``python -m infinityframe.cli``: the ``infinityframe`` command."""

import sys

from . import main

sys.exit(main())
