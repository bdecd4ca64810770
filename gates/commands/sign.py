"""`gates sign VERDICT -o verdict.dsse.json`: wrap a verdict in a signed in-toto/DSSE envelope."""

from __future__ import annotations

from pathlib import Path

import click

from gates.release import envelope as dsse
from gates.release.check import read_verdict_file
from gates.util.atomic import dump_json, write_text


@click.command()
@click.argument("verdict_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--key-env", metavar="VAR", help=f"Variable holding the key [default: {dsse.DEFAULT_KEY_ENV}].")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help="File holding the key.")
@click.option(
    "--alg", type=click.Choice(dsse.ALGORITHMS), help="[default: ed25519 for a PEM key, else hmac-sha256]"
)
def sign(
    verdict_file: Path, output: Path, key_env: str | None, key_file: Path | None, alg: str | None
) -> int:
    """Sign VERDICT: an HMAC-SHA256 shared secret or an Ed25519 PEM private key.

    Given an envelope, adds a signature to it (several signers)."""
    given = read_verdict_file(verdict_file)
    key = dsse.load_key(alg, env=key_env, file=key_file)  # no key: SignatureError, exit 2
    envelope = (given.envelope or dsse.wrap(given.document)).signed(key)
    write_text(output, dump_json(envelope.to_json()))
    click.echo(f"signed {given.digest} with {key.keyid} ({key.origin}): wrote {output}")
    return 0
