"""Data-quality suites (Great Expectations) that gate silver tables as blocking asset checks."""
