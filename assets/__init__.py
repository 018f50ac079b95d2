"""assets package."""

import warnings

# Single-run backfills (one run materializes a whole partition range) are how `nexus run` and the UI's backfills
# process a date window; Dagster flags the parameter as beta on every import, which is noise for every CLI user.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` .* is currently in beta")
