"""`gates osv-mirror serve DIR`: a local OSV database over the OSV query API, for air-gapped audits.

gates osv-mirror serve ../osv-pypi --port 8765 &
GATES_OSV_URL=http://127.0.0.1:8765 gates run . --only vulnerabilities
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="osv-mirror")
def osv_mirror() -> None:
    """Serve a local OSV advisory database (for offline vulnerability audits)."""


@osv_mirror.command()
@click.argument("database", type=click.Path(exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, help="Port (0: any free port).")
def serve(database: Path, host: str, port: int) -> int:
    """Serve DATABASE (a directory of OSV YAML/JSON records or an OSV export zip) until interrupted.

    Prints the base URL: give it as `osv_url` in the policy, or in GATES_OSV_URL. pip-audit's
    `--osv-url` is the base URL followed by /v1/query.
    """
    # The mirror needs the supply-chain extra; importing it here keeps the base install working.
    from gates.osv.mirror import MirrorServer, OsvDatabase

    db = OsvDatabase.load(database)
    server = MirrorServer(db, host, port)
    click.echo(f"serving {len(db.records)} OSV records from {database} at {server.url}", err=True)
    click.echo(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
