"""Coin Metrics community network data: API v4 client, community CSV reader, parser and landing into silver."""
