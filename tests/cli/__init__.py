"""Tests of the dfs-async command."""
