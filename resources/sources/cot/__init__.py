"""CFTC Commitments of Traders (Legacy, TFF, Disaggregated): Socrata API and annual files, parser, landing."""
