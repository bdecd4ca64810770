"""CycloneDX SBOMs: generating them with cyclonedx-py, reading and validating them, and sharing one
SBOM between the sbom, licence and vulnerabilities gates of a run."""
