"""Tests of dfs_async's governance layer."""
