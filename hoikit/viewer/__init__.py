"""Looking at results: ``hoikit view`` (interactive, viser) and ``hoikit report`` (static HTML)."""
