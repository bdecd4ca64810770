"""detect-secrets' scan of a file, with its plugins asked only about the lines that can hold a secret.

detect-secrets runs every plugin on every line through its dependency injection, about 20 µs per
line and plugin: most of its time. A plugin reports a line only when one of its own regular
expressions matches it: a regex-based detector's `denylist`, the high-entropy strings' quoted-string
expression (and then only a string above its entropy limit), the keyword detector's expressions,
which all require one of its denylisted keywords. So each line is tested first with those
expressions, taken from the configured plugins themselves; a line that passes goes through exactly
the steps of detect-secrets' `scan_file`: its line filters, every plugin, its secret filters, with
the code snippet of the whole file around it. A plugin of any other shape makes every line a
candidate, and a detect-secrets without the steps used here scans as it always does: the result is
the same secrets in the same order either way (tests compare both on real files).
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from detect_secrets.core import scan as detect
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.plugins import keyword
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.settings import get_plugins
from detect_secrets.util.code_snippet import get_code_snippet

# An expression of only word characters, spaces, `|` and `?` matches text of one line, whatever is
# around it: it can be searched for in the whole file at once.
_WORDS_ONLY = re.compile(r"[\w |?]+")
# The steps of detect-secrets' scan_file this module runs itself (absent: scan as detect-secrets does).
_STEPS = ("_get_lines_from_file", "_is_filtered_out", "_scan_line")


def _keyword_expressions() -> list[re.Pattern[str]]:
    tables = [keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP, *keyword.REGEX_BY_FILETYPE.values()]
    return [regex for table in tables for regex in table]


@cache
def _keywords() -> re.Pattern[str] | None:
    """One expression that every expression of the keyword detector needs to match: one of its
    denylisted words, in any case (its expressions ignore case or not); None when one of them does
    not show the words, or has flags that could change what they match."""
    for regex in _keyword_expressions():
        if not (
            keyword.DENYLIST_REGEX in regex.pattern or keyword.DENYLIST_REGEX_WITH_PREFIX in regex.pattern
        ):
            return None
        if regex.flags & ~(re.IGNORECASE | re.UNICODE):
            return None
    return re.compile("|".join(keyword.DENYLIST), re.IGNORECASE)


def _shaped(plugin: BasePlugin, base: type, line: Callable[..., Any], *strings: Callable[..., Any]) -> bool:
    """Whether `plugin` is a `base` whose analyze_line is `line` and analyze_string one of `strings`."""
    kind = type(plugin)
    return isinstance(plugin, base) and kind.analyze_line is line and kind.analyze_string in strings


@dataclass(frozen=True)
class LineTest:
    """Which lines of a file any of the configured plugins can report something on."""

    every_line: bool
    words: tuple[re.Pattern[str], ...]
    """Expressions of words (`_WORDS_ONLY`), searched for in the whole text."""
    expressions: tuple[re.Pattern[str], ...]
    """Other expressions, searched for in each line."""
    entropic: tuple[HighEntropyStringsPlugin, ...]

    def candidates(self, lines: Sequence[str]) -> list[bool]:
        """For each right-stripped line, whether a plugin can report something on it."""
        if self.every_line:
            return [True] * len(lines)
        marked = [False] * len(lines)
        if self.words:
            starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
            text = "\n".join(lines)
            for regex in self.words:
                for match in regex.finditer(text):
                    marked[bisect.bisect_right(starts, match.start()) - 1] = True
        for i, line in enumerate(lines):
            if not marked[i]:
                marked[i] = self._matches(line)
        return marked

    def _matches(self, line: str) -> bool:
        for regex in self.expressions:
            if regex.search(line):
                return True
        # As HighEntropyStringsPlugin.analyze_line keeps them when not scanning ad hoc; a string
        # of k distinct characters has an entropy of at most log2(k), so most need no computing.
        for plugin in self.entropic:
            if plugin.regex.search(line):
                for value in plugin.analyze_string(line):
                    if math.log2(len(set(value))) + 1e-9 < plugin.entropy_limit:
                        continue
                    if plugin.calculate_shannon_entropy(value) > plugin.entropy_limit:
                        return True
        return False


_EVERY_LINE = LineTest(every_line=True, words=(), expressions=(), entropic=())
_built: tuple[Sequence[BasePlugin], LineTest] | None = None


def _line_test_of(plugins: Sequence[BasePlugin]) -> LineTest:
    """`line_test` of the configured plugins, built again only when the settings change them."""
    global _built
    if _built is None or _built[0] is not plugins:
        _built = (plugins, line_test(plugins))
    return _built[1]


def line_test(plugins: Sequence[BasePlugin]) -> LineTest:
    """The test of which lines `plugins` can report something on."""
    plain: list[re.Pattern[str]] = []
    entropic: list[HighEntropyStringsPlugin] = []
    for plugin in plugins:
        if isinstance(plugin, HighEntropyStringsPlugin) and _shaped(
            plugin,
            HighEntropyStringsPlugin,
            HighEntropyStringsPlugin.analyze_line,
            HighEntropyStringsPlugin.analyze_string,
        ):
            entropic.append(plugin)
        elif isinstance(plugin, RegexBasedDetector) and _shaped(
            plugin,
            RegexBasedDetector,
            BasePlugin.analyze_line,
            RegexBasedDetector.analyze_string,
            JwtTokenDetector.analyze_string,  # keeps only some of the denylist's matches
        ):
            plain += plugin.denylist
        elif (keywords := _keywords()) is not None and _shaped(
            plugin,
            keyword.KeywordDetector,
            keyword.KeywordDetector.analyze_line,
            keyword.KeywordDetector.analyze_string,
        ):
            plain.append(keywords)
        else:
            return _EVERY_LINE
    return LineTest(
        every_line=False,
        words=tuple(r for r in plain if _WORDS_ONLY.fullmatch(r.pattern)),
        expressions=tuple(r for r in plain if not _WORDS_ONLY.fullmatch(r.pattern)),
        entropic=tuple(entropic),
    )


def _scan_lines(lines: list[str], filename: str, test: LineTest) -> Iterator[PotentialSecret]:
    """detect-secrets' `_process_line_based_plugins` on the candidate lines of `lines`."""
    stripped = [line.rstrip() for line in lines]
    candidates = test.candidates(stripped)
    for number, line in enumerate(stripped, start=1):
        if not candidates[number - 1]:
            continue
        snippet = get_code_snippet(lines=lines, line_number=number)
        if detect._is_filtered_out(
            required_filter_parameters=["line"], filename=filename, line=line, context=snippet
        ):
            continue
        for plugin in get_plugins():
            for secret in detect._scan_line(
                plugin=plugin, filename=filename, line=line, line_number=number, context=snippet
            ):
                if not detect._is_filtered_out(
                    required_filter_parameters=["context"],
                    filename=secret.filename,
                    secret=secret.secret_value,
                    plugin=plugin,
                    line=line,
                    context=snippet,
                ):
                    yield secret


def scan_file(filename: str) -> Iterator[PotentialSecret]:
    """What `detect_secrets.core.scan.scan_file(filename)` yields under the current settings."""
    plugins = get_plugins()
    if not all(hasattr(detect, step) for step in _STEPS) or not plugins:
        yield from detect.scan_file(filename)
        return
    if detect._is_filtered_out(required_filter_parameters=["filename"], filename=filename):
        return
    candidate = _line_test_of(plugins)
    try:
        # The plain lines first; the eager transformers' reading (YAML blocks) only if those
        # held no secret, as detect-secrets does.
        for lines in detect._get_lines_from_file(filename):
            found = False
            for secret in _scan_lines(list(lines), filename, candidate):
                found = True
                yield secret
            if found:
                break
    except OSError:
        return  # detect-secrets logs and skips a file it cannot open
