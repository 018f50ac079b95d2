"""Source clients and parsers, one subpackage per publisher, plus the shared landing pipeline (`base.py`)."""
