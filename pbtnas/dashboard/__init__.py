"""`pbtnas dashboard`: a live, read-only web view of run directories (docs/dashboard.md). The run directory is its
only input: it never talks to the driver or to Ray."""
