"""pbtnas: neural architecture search spaces as .nas files, searched with PBT-NAS."""
