"""Tests of dfs_async's records layer."""
