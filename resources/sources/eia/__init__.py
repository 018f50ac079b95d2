"""EIA (U.S. Energy Information Administration): weekly petroleum and gas storage reports and daily energy prices.

API v2 client (live or simulated), download-CSV reader (files mode), parser, release calendar, and landing into
two silver tables: `eia/weekly_series` and `eia/daily_prices`.
"""
