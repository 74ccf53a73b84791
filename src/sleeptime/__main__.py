"""``python -m sleeptime``: the same as the ``sleeptime`` command."""

import sys

from sleeptime._cli.main import main

sys.exit(main())
