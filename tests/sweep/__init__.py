"""Tests of dfs_async's sweep layer."""
