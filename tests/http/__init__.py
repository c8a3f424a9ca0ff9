"""Tests of dfs_async's http layer."""
