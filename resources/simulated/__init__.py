"""The simulated publisher: a seeded world (`world.py`) formatted in each publisher's wire format, served over HTTP."""
