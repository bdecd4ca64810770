"""Reading policy files: validation with file:line errors, `extends`, and overrides by context.

Each file is validated on its own before it is merged, so an error always names the file and line
where it was written. Merging: mappings merge key by key (the extending file wins), lists are
replaced, except `waivers` and `overrides`, which accumulate.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import hashlib
import importlib.metadata
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from gates.errors import InputError
from gates.plugins.registry import Registry
from gates.policy.model import (
    BUILTIN_GATE_DEFAULTS,
    Governance,
    Policy,
    PolicyContext,
    Project,
    ReleaseRules,
    Waiver,
)
from gates.schemas import describe_path, iter_errors, load_schema
from gates.util.files import repo_file
from gates.util.yamlfile import LoadedYaml, Path_, parse_yaml, read_yaml

DEFAULT_POLICY_FILE = "gates.yaml"
_MAX_EXTENDS_DEPTH = 16
_ACCUMULATED_KEYS = ("waivers", "overrides")
POLICY_ENTRY_POINT_GROUP = "gates.policies"


def shipped_policy_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml") for p in files("gates.policies").iterdir() if p.name.endswith(".yaml")
    )


def packaged_policies() -> dict[str, list[importlib.metadata.EntryPoint]]:
    """Policies installed Python packages provide through the `gates.policies` entry-point group,
    by name (a name two packages register is listed twice)."""
    found: dict[str, list[importlib.metadata.EntryPoint]] = {}
    for ep in importlib.metadata.entry_points(group=POLICY_ENTRY_POINT_GROUP):
        found.setdefault(ep.name, []).append(ep)
    return dict(sorted(found.items()))


def _provider(ep: importlib.metadata.EntryPoint) -> str:
    return f"{ep.dist.name}=={ep.dist.version}" if ep.dist is not None else ep.value


def _read_packaged(ep: importlib.metadata.EntryPoint, referrer: str) -> LoadedYaml:
    """The entry point names a path or an importlib resource (`files(__name__) / "base.yaml"`)."""
    source = f"package:{ep.name}@{_provider(ep)}"
    try:
        target = ep.load()
        resource = Path(target) if isinstance(target, (str, os.PathLike)) else target
        text = resource.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{referrer}: policy {source}: cannot read {ep.value}: {e}") from e
    except Exception as e:  # a third-party package may raise anything at import
        raise InputError(f"{referrer}: policy {source}: {ep.value}: {type(e).__name__}: {e}") from e
    return parse_yaml(text, source)


def _read_named(name: str, referrer: str) -> LoadedYaml:
    """A shipped policy, else one an installed package provides; never both silently."""
    resource = files("gates.policies").joinpath(f"{name}.yaml")
    if resource.is_file():
        return parse_yaml(resource.read_text(encoding="utf-8"), f"builtin:{name}")
    packaged = packaged_policies()
    candidates = packaged.get(name, [])
    if len(candidates) > 1:
        raise InputError(
            f"{referrer}: policy {name!r} is provided by several packages: "
            + ", ".join(sorted(_provider(ep) for ep in candidates))
        )
    if not candidates:
        raise InputError(
            f"{referrer}: unknown policy {name!r} (shipped: {', '.join(shipped_policy_names())}; "
            f"from packages ({POLICY_ENTRY_POINT_GROUP} entry points): {', '.join(packaged) or 'none'}; "
            "or give a path)"
        )
    return _read_packaged(candidates[0], referrer)


def _named_source(source: str) -> bool:
    return source.startswith(("builtin:", "package:"))


def _first_error(loaded: LoadedYaml, instance: Any, schema: Mapping[str, Any], base: Path_) -> None:
    for error in iter_errors(instance, schema):
        path = (*base, *error.absolute_path)
        why = f" ({error.cause})" if error.cause is not None else ""  # a pattern's compile error
        raise InputError(f"{loaded.where(path)}: {describe_path(path)}: {error.message}{why}")


def _check_finite(loaded: LoadedYaml) -> None:
    """YAML reads `.inf`, `.nan` and `1e999` as floats that every numeric bound in the schema lets
    through (NaN compares false with all of them); no policy value means one."""
    stack: list[tuple[Path_, Any]] = [((), loaded.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{loaded.where(path)}: {describe_path(path)}: {value} is not a finite number")
        if isinstance(value, dict):
            stack += [((*path, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [((*path, i), v) for i, v in enumerate(value)]


def _gate_schema(registry: Registry, plugin: str, instance: bool = False) -> Mapping[str, Any]:
    """The keys a gate section may hold: the shared ones, the plugin's own and, in the section
    that declares a gate instance, `uses`."""
    common = load_schema("policy")["$defs"]["gateSettings"]["properties"]
    gate = registry.gates.get(plugin)
    own = dict(gate.settings_schema) if gate is not None else {}
    uses = {"uses": {"type": "string", "minLength": 1}} if instance else {}
    return {
        "type": "object",
        "properties": {**common, **own, **uses},
        # A broken plugin's own keys cannot be checked; the gate will report an error when run.
        "additionalProperties": plugin in registry.broken,
        "$defs": load_schema("policy")["$defs"],
    }


_INSTANCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _instances(gates: Any) -> dict[str, str]:
    """Gate instance name -> the plugin it runs, for the sections of a `gates:` block with `uses`."""
    if not isinstance(gates, Mapping):
        return {}
    return {
        name: settings["uses"]
        for name, settings in gates.items()
        if isinstance(settings, Mapping) and isinstance(settings.get("uses"), str)
    }


def _check_instances(loaded: LoadedYaml, registry: Registry, inherited: Mapping[str, str]) -> dict[str, str]:
    """The gate instances this file declares (with those it inherits), each checked: `uses` names
    an installed plugin, and an instance neither takes a plugin's name nor changes what it uses."""
    declared = _instances(loaded.data.get("gates"))
    for name, plugin in declared.items():
        where = loaded.where(("gates", name, "uses"))
        if not _INSTANCE_NAME.fullmatch(name):
            # The name becomes a file name (cache entries, CI job parts) and a CI job name.
            raise InputError(
                f"{loaded.where(('gates', name))}: {name!r}: an instance name is [a-z0-9_-], at most 40"
            )
        if plugin not in registry.names():
            raise InputError(
                f"{where}: uses {plugin!r}: no such gate plugin (installed: {', '.join(registry.names())})"
            )
        if name in registry.names() and name != plugin:
            raise InputError(f"{where}: {name!r} is an installed gate; give the instance a name of its own")
        if inherited.get(name, plugin) != plugin:
            raise InputError(f"{where}: {name!r} already uses {inherited[name]!r} in the policy it extends")
    return {**inherited, **declared}


def _check_document(loaded: LoadedYaml) -> None:
    """The file against the policy schema, before anything in it is followed."""
    data = loaded.data
    if not isinstance(data, dict):
        raise InputError(f"{loaded.where(())}: a policy must be a mapping with at least 'version: 1'")
    for glob, section in (data.get("paths") or {}).items():
        if isinstance(section, dict) and "paths" in section:
            raise InputError(f"{loaded.where(('paths', glob, 'paths'))}: a paths section cannot nest paths")
    _check_finite(loaded)
    _first_error(loaded, data, load_schema("policy"), ())


def _validate_file(loaded: LoadedYaml, registry: Registry, inherited: Mapping[str, str]) -> None:
    """Every gate section, default and waiver of the file, against the installed gates and the gate
    instances declared here or in the policies it extends (`inherited`)."""
    data = loaded.data
    instances = _check_instances(loaded, registry, inherited)
    sections: list[Path_] = [("paths", glob) for glob in data.get("paths", {})]
    for base in sections:
        project_folder(str(base[1]), loaded.where(base))
    known = sorted({*registry.names(), *instances})
    blocks: list[tuple[Path_, Mapping[str, Any]]] = [(("gates",), data.get("gates", {}))]
    blocks += [
        (("overrides", i, "gates"), o.get("gates", {})) for i, o in enumerate(data.get("overrides", []))
    ]
    blocks += [((*base, "gates"), data["paths"][base[1]].get("gates", {})) for base in sections]
    strict_defaults = {**_gate_schema(registry, ""), "additionalProperties": False}
    for base, gates in blocks:
        for name, settings in gates.items():
            if name not in known:
                raise InputError(
                    f"{loaded.where((*base, name))}: unknown gate {name!r} "
                    f"(installed: {', '.join(known) or 'none'})"
                )
            declares = base == ("gates",) and name in _instances(gates)
            schema = _gate_schema(registry, instances.get(name, name), instance=declares)
            _first_error(loaded, settings, schema, (*base, name))
    for base in [("defaults",), *((*b, "defaults") for b in sections)] + [
        ("overrides", i, "defaults") for i in range(len(data.get("overrides", [])))
    ]:
        block = _get(data, base)
        if block is not None:
            _first_error(loaded, block, strict_defaults, base)
    waiver_lists: list[Path_] = [("waivers",), *((*b, "waivers") for b in sections)] + [
        ("overrides", i, "waivers") for i in range(len(data.get("overrides", [])))
    ]
    for base in waiver_lists:
        for i, waiver in enumerate(_get(data, base) or []):
            if waiver["gate"] not in known:
                raise InputError(
                    f"{loaded.where((*base, i, 'gate'))}: waiver for unknown gate {waiver['gate']!r}"
                )
            try:
                dt.date.fromisoformat(waiver["expires"])
            except ValueError as e:
                raise InputError(
                    f"{loaded.where((*base, i, 'expires'))}: not a calendar date: {waiver['expires']}"
                ) from e


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _merge(base: Mapping[str, Any], top: Mapping[str, Any], accumulate: bool) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in top.items():
        if accumulate and key in _ACCUMULATED_KEYS:
            merged[key] = [*merged.get(key, []), *value]
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value, accumulate=False)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _tag_waivers(loaded: LoadedYaml, data: dict[str, Any]) -> None:
    """Record in each waiver where it was written, so the verdict can point at it."""
    for i, waiver in enumerate(data.get("waivers", [])):
        waiver["source"] = loaded.where(("waivers", i))
    for j, override in enumerate(data.get("overrides", [])):
        for i, waiver in enumerate(override.get("waivers", [])):
            waiver["source"] = loaded.where(("overrides", j, "waivers", i))
    for glob, section in data.get("paths", {}).items():
        for i, waiver in enumerate(section.get("waivers", [])):
            waiver["source"] = loaded.where(("paths", glob, "waivers", i))


def _resolve(
    loaded: LoadedYaml, registry: Registry, chain: Sequence[str], within: Path | None = None
) -> dict[str, Any]:
    """`within`: the repository, when `loaded` is a file of it: what it extends must be one too."""
    _check_document(loaded)
    data = copy.deepcopy(loaded.data)
    _tag_waivers(loaded, data)
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        _validate_file(loaded, registry, {})
        return dict(data)
    if len(chain) >= _MAX_EXTENDS_DEPTH:
        raise InputError(f"{loaded.where(('extends',))}: extends is nested too deeply")
    if "/" in parent_ref or parent_ref.endswith((".yaml", ".yml", ".json")):
        if _named_source(loaded.source):
            raise InputError(f"{loaded.source}: a shipped or packaged policy can only extend named policies")
        where = f"{loaded.where(('extends',))}: extends {parent_ref!r}"
        parent_path = Path(loaded.source).resolve().parent / parent_ref
        if within is not None:  # the repository's policy extends only files of the repository
            parent_path = repo_file(within, os.path.relpath(parent_path, within), where)
        parent_path = parent_path.resolve()
        key = str(parent_path)
        if not parent_path.is_file():
            raise InputError(f"{loaded.where(('extends',))}: extends {parent_ref!r}: no such file")
        parent = read_yaml(parent_path)
    else:
        parent = _read_named(parent_ref, loaded.where(("extends",)))
        key = parent.source
    if key in chain:
        raise InputError(f"{loaded.where(('extends',))}: extends cycle: {' -> '.join([*chain, key])}")
    base = _resolve(parent, registry, [*chain, key], within)
    _validate_file(loaded, registry, _instances(base.get("gates")))
    base.pop("name", None)
    base.pop("description", None)
    return _merge(base, data, accumulate=True)


def _matches(when: Mapping[str, Sequence[str]], context: PolicyContext) -> bool:
    for key, value in (("branch", context.branch), ("environment", context.environment)):
        if key in when and not (value and any(fnmatch.fnmatchcase(value, g) for g in when[key])):
            return False
    return True


def _waiver(data: Mapping[str, Any]) -> Waiver:
    return Waiver.from_json({"path": None, "fingerprint": None, **data})


def _without_sources(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without the `source` (file:line) tags of its waivers: where a policy file lies
    on disk must not change its digest."""

    def strip(waivers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in w.items() if k != "source"} for w in waivers]

    stripped = dict(document)
    stripped["waivers"] = strip(document.get("waivers", []))
    stripped["overrides"] = [
        {**o, "waivers": strip(o.get("waivers", []))} for o in document.get("overrides", [])
    ]
    if "paths" in document:
        stripped["paths"] = {
            glob: {**section, "waivers": strip(section.get("waivers", []))}
            for glob, section in document["paths"].items()
        }
    return stripped


def build_policy(document: Mapping[str, Any], source: str, name: str, context: PolicyContext) -> Policy:
    """The effective policy from a resolved (validated, extends-merged) document."""
    canonical = json.dumps(_without_sources(document), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    effective = {k: v for k, v in document.items() if k != "overrides"}
    applied = []
    for index, override in enumerate(document.get("overrides", [])):
        if _matches(override["when"], context):
            body = {k: v for k, v in override.items() if k not in ("when", "name")}
            effective = _merge(effective, body, accumulate=True)
            applied.append(override.get("name", f"overrides[{index}]"))
    governance = Governance.from_json(effective.get("governance", {}))
    sections = effective.pop("paths", {})
    gates, waivers = _scope(effective, governance)
    projects = []
    for glob, section in sections.items():
        folder = project_folder(glob, f"{source}: paths: {glob}")
        body = {k: v for k, v in section.items() if k != "name"}
        project_gates, project_waivers = _scope(_merge(effective, body, accumulate=True), governance)
        projects.append(
            Project(section.get("name", folder.replace("/", "-")), folder, project_gates, project_waivers)
        )
    _check_projects(projects, source)
    return Policy(
        name=name,
        source=source,
        digest=digest,
        document=document,
        context=context,
        applied_overrides=tuple(applied),
        gates=gates,
        waivers=waivers,
        release=ReleaseRules.from_json(effective.get("release", {})),
        governance=governance,
        projects=tuple(sorted(projects, key=lambda p: p.name)),
    )


def _scope(
    effective: Mapping[str, Any], governance: Governance
) -> tuple[dict[str, dict[str, Any]], tuple[Waiver, ...]]:
    """Gate settings (defaults filled in) and waivers of the top level or of one project."""
    defaults = {**BUILTIN_GATE_DEFAULTS, **({"mode": effective["mode"]} if "mode" in effective else {})}
    defaults = _merge(defaults, effective.get("defaults", {}), accumulate=False)
    gates = {
        gate: _merge(defaults, settings, accumulate=False)
        for gate, settings in effective.get("gates", {}).items()
    }
    return gates, tuple(_waiver(w) for w in effective.get("waivers", []))


def project_folder(glob: str, where: str) -> str:
    """The folder a `paths:` key names: `services/api/**` -> `services/api`."""
    folder = glob.removesuffix("/**")
    parts = folder.split("/")
    if folder == glob or any(c in folder for c in "*?[]!\\") or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"{where}: a project is a folder: write it as services/api/**, not {glob!r}")
    return folder


def _check_projects(projects: Sequence[Project], source: str) -> None:
    for a in projects:
        for b in projects:
            if a is b:
                continue
            if a.name == b.name:
                raise InputError(
                    f"{source}: paths: {a.folder}/** and {b.folder}/** are both named {a.name!r}"
                )
            if a.contains(b.folder):
                raise InputError(
                    f"{source}: paths: {b.folder}/** lies inside {a.folder}/**: a file belongs to one project"
                )


def find_policy_file(root: Path) -> Path | None:
    candidate = root / DEFAULT_POLICY_FILE
    return candidate if os.path.lexists(candidate) else None


def _in_repository(path: Path, root: Path | None) -> tuple[Path, Path] | None:
    """(the repository's real folder, `path` relative to it) when `path` is written as a file of
    the repository at `root`."""
    if root is None:
        return None
    lexical = Path(os.path.abspath(path))
    for base in (root.absolute(), root.resolve()):
        if lexical == base or base in lexical.parents:
            return root.resolve(), lexical.relative_to(base)
    return None


def load_policy(
    path: Path | None, registry: Registry, context: PolicyContext, root: Path | None = None
) -> Policy:
    """The policy at `path`, else `gates.yaml` in `root`, else the shipped default."""
    if path is None and root is not None:
        path = find_policy_file(root)
    within = None
    if path is None:
        loaded = _read_named("default", "built-in default policy")
        chain = ["builtin:default"]
    elif not path.exists() and "/" not in str(path) and not path.suffix:
        loaded = _read_named(str(path), str(path))  # `--policy strict`: a shipped or packaged name
        chain = [loaded.source]
    else:
        found = _in_repository(path, root)
        within = found[0] if found is not None else None
        if found is not None:
            repo_file(*found, "policy")  # a link out of the repository is refused, not read
        loaded = read_yaml(path)
        chain = [str(path.resolve())]
    document = _resolve(loaded, registry, chain, within)
    default_name = loaded.source.split(":", 1)[1].split("@")[0] if _named_source(loaded.source) else None
    name = str(document.pop("name", None) or default_name or Path(loaded.source).stem)
    document.pop("description", None)
    return build_policy(document, loaded.source, name, context)
