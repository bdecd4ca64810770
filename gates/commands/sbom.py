"""`gates sbom diff OLD NEW`: what changed between two CycloneDX SBOMs (JSON or XML, any tool);
`gates sbom notices SBOM`: the attribution notices a release ships."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gates.util.atomic import dump_json, write_text
from gates.util.mask import redact_credentials, visible

if TYPE_CHECKING:
    from gates.sbom.read import Sbom


def read_sbom(path: Path, validate: bool) -> Sbom:
    from gates.sbom.read import parse_sbom, read_sbom_bytes  # the supply-chain extra: imported when used

    return parse_sbom(read_sbom_bytes(path), str(path), validate=validate)


@click.group()
def sbom() -> None:
    """Compare SBOMs and write attribution notices from them."""


@sbom.command()
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "md"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="[default: stdout]")
def diff(old: Path, new: Path, fmt: str, output: Path | None) -> int:
    """Components added, removed and changed (version up or down, licence) from OLD to NEW.

    A component is its purl without the version, else its group and name; versions are ordered
    by the component's ecosystem (PEP 440, SemVer, Maven, Go, ...). Exit 0, or 2 for bad input."""
    from gates.report.markdown import diff_lines
    from gates.sbom.diff import diff as sbom_diff_of

    # Only the components count here: the schema check (seconds on a large SBOM) is the sbom gate's.
    changes = sbom_diff_of(read_sbom(old, False).components, read_sbom(new, False).components)
    if fmt == "json":
        text = dump_json(changes.to_json())
    else:
        text = (
            "\n".join([f"## SBOM changes: `{old.name}` → `{new.name}`", "", *diff_lines(changes, "###")])
            + "\n"
        )
    text = visible(redact_credentials(text))  # an SBOM is input: as every report shows it
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text(output, text)
    return 0


@sbom.command()
@click.argument("sbom_file", metavar="SBOM", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="[default: stdout]")
def notices(sbom_file: Path, output: Path | None) -> int:
    """THIRD_PARTY_NOTICES.md from an SBOM: each component's version, licence, where the licence
    text is, and copyright where the SBOM records it (what `gates run` writes beside the SBOM)."""
    from gates.sbom import notices as attribution

    text = attribution.render(read_sbom(sbom_file, False).components)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text(output, text)
    return 0
