"""Dynamic checks of a running web application, and imports of other scanners' reports."""
