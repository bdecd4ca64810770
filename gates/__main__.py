"""The `gates` command (console script and `python -m gates`).

jsonschema imports the optional `rfc3987_syntax` package whenever it is installed, and that package
builds a grammar at import: 1 to 2.5 s on this project's CI machines, most of a pre-commit hook's
budget. The command line runs without it: SBOM validation checks IRIs with gates.sbom.iri, which
accepts exactly what rfc3987_syntax accepts, in linear time.
"""

import os
import sys
from collections.abc import Sequence

# `python -m gates` puts the working folder (in CI, the scanned repository) first on sys.path: a
# committed `detect_secrets/` or `pip_audit/` would be imported instead of the tool the gate runs
# in this process, and a committed `*.dist-info` could register a gate. Nothing is imported from it.
if sys.path and not getattr(sys.flags, "safe_path", False) and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None blocks an import


def main(argv: Sequence[str] | None = None) -> int:
    # Imported here, not above: the pii gate's fork server imports the console script (this
    # module) before it forks workers, which need none of the command line (0.1 s of its start).
    from gates.util.safe_path import protect_children

    protect_children()  # before any thread starts
    from gates.cli import main as run

    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
