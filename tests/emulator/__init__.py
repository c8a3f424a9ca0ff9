"""Tests of the embedded emulator (dfs_async.testing)."""
