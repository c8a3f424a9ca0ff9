"""``python -m dfs_async``: the ``dfs-async`` command."""

import sys

from ._cli import main

sys.exit(main())
