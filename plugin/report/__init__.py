"""The publish report: one HTML page per publish, readable with no server."""
