"""Cboe volatility indices: client (live, files, simulated), parser, and landing into silver."""
