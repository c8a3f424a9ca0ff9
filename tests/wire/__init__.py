"""Tests of dfs_async's wire layer."""
