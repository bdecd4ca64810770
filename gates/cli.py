"""The `gates` command line: parses options, calls one function per command, maps outcomes to
exit codes. Nothing below this module calls sys.exit or prints to the terminal."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from gates import __version__
from gates import verdict as verdicts
from gates.commands.lazy import LazyGroup
from gates.commands.options import policy_option
from gates.engine import pipeline
from gates.errors import GatesError, InputError
from gates.model import Collection
from gates.plugins.registry import Registry, load_registry
from gates.policy.loader import load_policy
from gates.policy.model import Policy, PolicyContext
from gates.progress import Progress
from gates.report import DEFAULT_FORMATS
from gates.report.registry import load_formats
from gates.schemas import load_schema, remembering_valid
from gates.util import lock
from gates.util.atomic import write_all, write_text
from gates.util.files import OUTPUT_DIR_NAME
from gates.util.git import current_branch
from gates.util.mask import mask_message, redact_credentials, visible
from gates.util.sealed import SealedFolder, default_folder, open_sealed
from gates.verdict import Verdict

if TYPE_CHECKING:
    from gates.sbom.delta import NoRelease, Since

EXIT_CODES_HELP = """\b
Exit codes:
  0  pass (warnings allowed)
  1  fail: a gate in enforce mode found what the policy does not allow
  2  invalid input: usage, policy, corrupt findings/verdict/report file
  3  error: a gate could not run (crash, timeout, missing tool); never a pass"""


class FormatName(click.ParamType):  # type: ignore[type-arg]
    """A report format installed in the `gates.reports` entry-point group (checked when used, so
    that `gates --help` loads no format)."""

    name = "format"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        names = load_formats().names()
        if value not in names:
            self.fail(f"{value!r} is not a report format (installed: {', '.join(names)})", param, ctx)
        return value


FORMAT_CHOICE = FormatName()


def _context(root: Path, branch: str | None, environment: str | None) -> PolicyContext:
    return PolicyContext(branch=branch or current_branch(root), environment=environment)


def _policy(policy: Path | None, root: Path, branch: str | None, environment: str | None) -> Policy:
    return load_policy(policy, load_registry(), _context(root, branch, environment), root=root)


def _inputs(values: Sequence[str]) -> dict[str, dict[str, str]]:
    parsed: dict[str, dict[str, str]] = {}
    for value in values:
        key, sep, setting = value.partition("=")
        gate, dot, name = key.partition(".")
        if not (sep and dot and gate and name):
            raise InputError(f"--input {value!r}: expected GATE.KEY=VALUE")
        parsed.setdefault(gate, {})[name] = setting
    return parsed


def _names(values: Sequence[str]) -> tuple[str, ...]:
    """Repeatable options that also take comma-separated lists (one CI matrix value, several names)."""
    return tuple(name for value in values for name in value.split(",") if name)


def _since(root: Path, ref: str | None, policy: Policy) -> Since | NoRelease | None:
    """The release `--since` names, if given, or why `auto` found none."""
    if ref is None:
        return None
    from gates.release.since import load_since  # the supply-chain extra, needed only here
    from gates.sbom import delta

    release = load_since(root, ref, policy)
    said = release.reason if isinstance(release, delta.NoRelease) else f"changes since {release.label}"
    click.echo(f"gates: {said}", err=True)
    return release


def _summary_lines(verdict: Verdict) -> list[str]:
    lines = []
    for gate in verdict.gates:
        c = gate.counts
        cached = ", cached" if gate.cached else ""
        lines.append(
            f"  {gate.label:<16} {gate.status.value.upper():<7} {c.counted} counted, {c.waived} waived, "
            f"{c.total} total ({gate.duration_s:.1f}s{cached}): {gate.reason}"
        )
    for entry in verdict.waivers:
        if entry.status in ("expired", "too_long", "expiring", "unused"):
            w = entry.waiver
            lines.append(
                f"  {entry.status.replace('_', ' ')} waiver: {w.gate} {w.rule} "
                f"(expires {w.expires.isoformat()}, {w.source})"
            )
    lines.append(f"verdict: {verdict.status.value.upper()}")
    return lines


def _finish(verdict: Verdict, written: Sequence[Path]) -> int:
    for line in _summary_lines(verdict):
        click.echo(visible(line))
    click.echo("wrote " + ", ".join(str(p) for p in written))
    return verdicts.exit_code(verdict)


# The commands that live in gates/commands/, imported only when run (see gates/commands/lazy.py).
COMMANDS = {
    "hook": "gates.commands.hook:hook",
    "osv-mirror": "gates.commands.osv_mirror:osv_mirror",
    "plan": "gates.commands.plan:plan",
    "release": "gates.commands.release:release",
    "sbom": "gates.commands.sbom:sbom",
    "sign": "gates.commands.sign:sign",
    "verify": "gates.commands.verify:verify",
    "waivers": "gates.commands.waivers:waivers",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, prog_name="gates")
def cli() -> None:
    """Governance gates: run the checks a policy asks for and decide whether a release may ship."""


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@policy_option("PATH")
@click.option("--only", multiple=True, metavar="NAME", help="Run only this gate (repeatable or a,b).")
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="NAME",
    help="Monorepo: run only this project of the policy's paths: sections (repeatable or a,b; "
    "'.' is the files outside every project) [default: every project and the rest].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Output folder [default: PATH/{OUTPUT_DIR_NAME}].",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=FORMAT_CHOICE,
    help="Report to write besides verdict.json (repeatable) [default: json, sarif, junit, md, html].",
)
@click.option("--no-cache", is_flag=True, help="Run every gate afresh.")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A previous verdict: findings absent from it are new.",
)
@click.option(
    "--since",
    metavar="REF",
    help="The previous release: its tag (verdict noted by `gates release`), 'auto' (the last "
    "released tag before HEAD) or a verdict .json; the verdict records what changed since.",
)
@click.option("--branch", help="Branch for policy overrides [default: from CI or git].")
@click.option("--env", "environment", help="Environment for policy overrides.")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="GATE.KEY=VALUE",
    help="A gate input, e.g. dast.url=http://127.0.0.1:8000 (repeatable).",
)
def run(
    path: Path,
    policy_file: Path | None,
    only: tuple[str, ...],
    projects: tuple[str, ...],
    out_dir: Path | None,
    formats: tuple[str, ...],
    no_cache: bool,
    baseline: Path | None,
    since: str | None,
    branch: str | None,
    environment: str | None,
    inputs: tuple[str, ...],
) -> int:
    """Collect findings with every enabled gate, evaluate them, write the verdict and reports."""
    root = path.resolve()
    # The subject is taken while the policy is read, but for a run without the cache: its policy is
    # checked (jsonschema) first, alone, so that the gates that prepare (Preparing) start sooner,
    # and the subject, which then reads every committed file, is taken after it.
    subject = None if no_cache else pipeline.start_subject(root, use_cache=True)
    try:
        # A policy document found valid before is not validated again (as the hook does), unless
        # the run trusts no cache.
        remembered = None if no_cache else open_sealed(default_folder(), root)
        with remembering_valid(remembered):
            policy = _policy(policy_file, root, branch, environment)
        if subject is None:
            subject = pipeline.start_subject(root, use_cache=False)
        registry = load_registry()
        release = _since(root, since, policy)
        default_out = out_dir is None
        out = (root / OUTPUT_DIR_NAME) if out_dir is None else out_dir.resolve()
        if default_out and out.is_symlink():
            # A committed link would have the run write its outputs (and a `*` .gitignore) elsewhere.
            raise InputError(
                f"{out}: a link in the repository; gates writes only into a real folder (or --out)"
            )
        request = pipeline.RunRequest(
            root=root,
            out_dir=out,
            only=_names(only),
            use_cache=not no_cache,
            baseline=baseline,
            inputs=_inputs(inputs),
            projects=_names(projects),
            since=release,
            subject=subject,
        )
        click.echo(f"gates {__version__}: policy {policy.name!r} on {root}", err=True)
        waiting = f"gates: waiting for another run writing {out}"
        with lock.output_folder(out, lambda: click.echo(waiting, err=True)):
            return _run_locked(request, policy, registry, formats, default_out, remembered)
    finally:
        if subject is not None:
            subject.wait()  # its git processes (status takes the index's lock) never outlive the command


def _run_locked(
    request: pipeline.RunRequest,
    policy: Policy,
    registry: Registry,
    formats: tuple[str, ...],
    default_out: bool,
    remembered: SealedFolder | None,
) -> int:
    """`gates run` once it holds the output folder: collect, decide, write. The verdict's check
    against its schema is remembered in `remembered` as the policy's is (see verdict.dump)."""
    out = request.out_dir
    with Progress(sys.stderr) as progress:
        judged = pipeline.run_projects(request, policy, registry, progress.update)
    with remembering_valid(remembered):
        try:
            # Rendered while the repository is checked again; again if it changed meanwhile.
            outputs = _outputs(out, judged.verdict, judged.runs, formats)
        finally:
            judged.after.wait()
        verdict, runs = judged.settled()
        if verdict is not judged.verdict:
            outputs = _outputs(out, verdict, runs, formats)
    write_all(outputs)
    written = sorted(outputs)
    if default_out:
        # The output folder ignores itself, so git (and the gates' dirty check) never see it.
        write_text(out / ".gitignore", "# written by gates\n*\n")
    return _finish(verdict, written)


def _outputs(
    out: Path, verdict: Verdict, runs: Sequence[pipeline.ScopeRun], formats: tuple[str, ...]
) -> dict[Path, str]:
    """`gates run`'s outputs; in a monorepo, also each project's verdict, findings.json and
    artefacts (an SBOM) in its own folder."""
    if len(runs) == 1:
        return pipeline.render_outputs(out, verdict, formats or DEFAULT_FORMATS, runs[0].collections)
    outputs: dict[Path, str] = {}
    for r in runs:
        outputs.update(
            pipeline.render_outputs(out / "projects" / (r.project or "_top"), r.verdict, (), r.collections)
        )
    outputs.update(pipeline.render_outputs(out, verdict, formats or DEFAULT_FORMATS))
    return outputs


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("findings", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@policy_option(None)
@click.option("--only", multiple=True, metavar="NAME", help="Evaluate only this gate (repeatable).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to write verdict.json and reports.",
)
@click.option("--format", "formats", multiple=True, type=FORMAT_CHOICE)
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--since", metavar="REF", help="As for `gates run`: the previous release (the current folder's git)."
)
@click.option("--branch")
@click.option("--env", "environment")
@click.option(
    "--project",
    "project_name",
    metavar="NAME",
    help="Monorepo: judge findings recorded without a project by this project's section ('.': the "
    "top level) [default: the project each findings.json records].",
)
def evaluate(
    findings: tuple[Path, ...],
    policy_file: Path,
    only: tuple[str, ...],
    project_name: str | None,
    out_dir: Path,
    formats: tuple[str, ...],
    baseline: Path | None,
    since: str | None,
    branch: str | None,
    environment: str | None,
) -> int:
    """Re-evaluate collected findings (findings.json) under a policy, without re-scanning.

    In a monorepo, each file is judged by the section of the project it was collected for (see
    `gates run`: OUT/projects/NAME/findings.json), and the scopes merge into one verdict."""
    files = [(path, verdicts.load_collections(path)) for path in findings]
    subject = files[0][1].subject
    scopes: dict[str | None, list[Collection]] = {}
    seen: dict[tuple[str | None, str], Path] = {}
    for path, loaded in files:
        project = loaded.project
        if project_name is not None:
            wanted = None if project_name == pipeline.ROOT_SCOPE else project_name
            if project is not None and project != wanted:
                raise InputError(f"{path}: collected for project {project!r}, not {project_name!r}")
            project = wanted
        for collection in loaded.collections:
            key = (project, collection.gate)
            if key in seen:
                raise InputError(f"{path}: gate {collection.gate!r} is also in {seen[key]}")
            seen[key] = path
            scopes.setdefault(project, []).append(collection)
    context = PolicyContext(branch=branch or subject.branch, environment=environment)
    registry = load_registry()
    policy = load_policy(policy_file, registry, context)
    known = {p.name for p in policy.top_level().projects}
    for (project, _), path in seen.items():
        if project is not None and project not in known:
            raise InputError(
                f"{path}: collected for project {project!r}, which {policy.name!r} has no section for"
            )
    release = _since(Path.cwd(), since, policy)
    verdict = pipeline.decide_scopes(policy, registry, scopes, subject, only, baseline, release)
    written = pipeline.write_outputs(out_dir, verdict, formats)
    return _finish(verdict, written)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("parts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The merged verdict.json; reports go beside it.",
)
@click.option("--format", "formats", multiple=True, type=FORMAT_CHOICE)
def merge(parts: tuple[Path, ...], output: Path, formats: tuple[str, ...]) -> int:
    """Merge verdicts that separate jobs wrote with `gates run --only NAME`."""
    verdict = verdicts.merge([(p, verdicts.masked(verdicts.load(p))) for p in parts])
    outputs = pipeline.render_reports(verdict, formats, output.parent)
    outputs[output] = outputs.pop(output.parent / load_formats().get("json").filename)
    write_all(outputs)
    return _finish(verdict, sorted(outputs))


@cli.command()
@click.argument("verdict_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMAT_CHOICE, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output.",
)
@click.option(
    "--history",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of previous verdicts (*.json) for the trend chart (html only).",
)
def report(verdict_file: Path, fmt: str, output: Path | None, history: Path | None) -> int:
    """Render a report from a verdict file."""
    verdict = verdicts.masked(verdicts.load(verdict_file))
    if history is None:
        text = load_formats().get(fmt).render(verdict)
    elif fmt == "html":
        from gates.report import html as html_report  # jinja2: only for this report

        text = html_report.render(verdict, html_report.load_history(history))
    else:
        raise click.UsageError("--history applies to --format html only")
    text = visible(text)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text(output, text)
    return 0


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_gates(as_json: bool) -> int:
    """Installed gates (built-in and third-party) with their versions and tool versions."""
    registry = load_registry()
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "version": gate.version,
            "provided_by": registry.distributions[name],
            "tools": dict(gate.tool_versions()),
            "description": gate.description,
        }
        for name, gate in sorted(registry.gates.items())
    ]
    broken = [{"name": n, "error": why} for n, why in sorted(registry.broken.items())]
    if as_json:
        click.echo(json.dumps({"gates": rows, "broken": broken}, indent=2, sort_keys=True))
        return 0
    for row in rows:
        tools = ", ".join(f"{k} {v}" for k, v in sorted(row["tools"].items())) or "no external tool"
        click.echo(f"{row['name']:<16} {row['version']:<8} {tools}  [{row['provided_by']}]")
    for entry in broken:
        click.echo(f"{entry['name']:<16} BROKEN   {entry['error']}")
    return 0


@cli.group(cls=LazyGroup, lazy={"test": "gates.commands.policy_test:policy_test"})
def policy() -> None:
    """Validate and inspect policies."""


@policy.command()
@click.argument("file", type=click.Path(path_type=Path))
def validate(file: Path) -> int:
    """Check a policy file (and what it extends); print one line."""
    loaded = load_policy(file, load_registry(), PolicyContext())
    click.echo(f"{file}: valid policy {loaded.name!r}; enables {', '.join(loaded.enabled()) or 'no gate'}")
    return 0


@policy.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--branch")
@click.option("--env", "environment")
def show(file: Path | None, branch: str | None, environment: str | None) -> int:
    """Print the effective policy (extends and matching overrides applied) as YAML."""
    root = Path.cwd()
    effective = _policy(file, root, branch, environment).effective_document()
    click.echo(yaml.safe_dump(effective, sort_keys=False), nl=False)
    return 0


@cli.command()
@click.argument("name", type=click.Choice(["policy", "verdict"]))
def schema(name: str) -> int:
    """Print the JSON Schema of the policy or verdict format (policy: with installed gates' keys)."""
    document: dict[str, Any] = json.loads(json.dumps(load_schema(name)))
    if name == "policy":
        common = document["$defs"]["gateSettings"]["properties"]
        gates_props = {
            gate_name: {
                "type": "object",
                "properties": {**common, **gate.settings_schema},
                "additionalProperties": False,
            }
            for gate_name, gate in sorted(load_registry().gates.items())
        }
        document["properties"] = {
            **document["properties"],
            "gates": {**document["properties"]["gates"], "properties": gates_props},
        }
    click.echo(json.dumps(document, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="gates", standalone_mode=False
        )
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.Abort:
        click.echo("gates: aborted", err=True)
        return 2
    except click.ClickException as e:
        e.show()
        return 2
    except GatesError as e:
        click.echo(f"gates: error: {redact_credentials(str(e))}", err=True)
        return 2
    except Exception as e:
        # A bug in gates itself: Python's own exit status (1) would read as "the gates failed".
        # It is an error, which never passes; the traceback is for the bug report.
        click.echo(redact_credentials(traceback.format_exc()), err=True, nl=False)
        click.echo(f"gates: internal error: {type(e).__name__}: {mask_message(str(e))}", err=True)
        return 3
    return int(result) if isinstance(result, int) else 0
