"""OSV: a local mirror of an OSV advisory database served over the OSV query API, and CVSS scores."""
