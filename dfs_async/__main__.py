"""``python -m dfs_async``: the ``dfs-async`` command."""

import sys

from ._cli._main import main

sys.exit(main())
