"""Presidio, offline, and the fast path that runs it only where the pre-filter found candidates.

Importing this module imports Presidio and spaCy (about a second), so only the scan imports it, and
only when some recognizer has candidates in some file.

By default the spaCy pipeline is built here, when first needed: a blank English tokenizer plus a
component that uses the lower-cased token text as its lemma, so that Presidio's context enhancement
(a score boost when a recognizer's context word is among the five keywords before a match) works
without a model.
Pattern entities then never need spaCy to *find* a value: phase 1 runs each selected recognizer
once per file, over the windows around its own candidates (gates.pii.candidates; recognizers the
pre-filter does not know see the whole file); phase 2 hands the results that only a context word
can lift over the threshold to Presidio's context enhancer, on a short window before them, then
thresholds and de-duplication are Presidio's. With `spacy_model`, NER entities need the model over
whole texts, so each file goes through one `analyze()` call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import phonenumbers
import spacy
import tldextract
import tldextract.tldextract
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsSsnRecognizer,
)
from spacy.language import Language
from spacy.tokens import Doc

from gates.errors import GateError
from gates.pii.allow import AllowList
from gates.pii.candidates import (
    ENTITY_WINDOWS,
    Candidates,
    PhoneUnit,
    SparseText,
    Windows,
    snap_back,
    snap_forward,
)
from gates.pii.config import INLINE_MARKER, Hit, ScanConfig
from gates.pii.lines import LineIndex
from gates.pii.phone import PRESIDIO_REGIONS, presidio_regions, reach
from gates.pii.precision import REPOSITORY, Found, Judge, mask_path_data
from gates.util.mask import mask_digits, mask_value, salted_hash

LANGUAGE = "en"
CONTEXT_PREFIX = 120
"""Characters before a hit given to phase 2: Presidio looks five keywords back for context."""
GROUP_CHARS = 4000
OWN_WINDOWS: dict[type[EntityRecognizer], Windows] = {
    EmailRecognizer: ENTITY_WINDOWS["EMAIL_ADDRESS"],
    IbanRecognizer: ENTITY_WINDOWS["IBAN_CODE"],
    IpRecognizer: ENTITY_WINDOWS["IP_ADDRESS"],
    UsSsnRecognizer: ENTITY_WINDOWS["US_SSN"],
    CreditCardRecognizer: ENTITY_WINDOWS["CREDIT_CARD"],
}
"""The pre-filtered recognizers, given only the windows around their own candidates (the phone
recognizer has a path of its own); the others see whole texts."""
PHONE_CACHE_SIZE = 200_000
WARM_UP_TEXT = (
    "mail jane.doe@corp.io, call +1 415-867-5309, 030 901820,\n"  # pragma: allowlist pii
    "020 7946 0018, 01 23 45 67 89, 03-123-4567, 98765 43210,\n"  # pragma: allowlist pii
    "(11) 98765-4321; ip 10.1.2.3 fe80::1ff:fe23:4567:890a,\n"  # pragma: allowlist pii
    "iban DE89 3704 0044 0532 0130 00, ssn 078-05-1120, card 4111 1111 1111 1111\n"  # pragma: allowlist pii
)
"""A value of each kind, with a phone number of each default region: scanning it loads what a
first scan would (phone metadata, the e-mail suffix list, compiled patterns)."""
MAX_TEXT_CHARS = 100_000_000
"""spaCy refuses texts over a million characters by default (for the parser's memory); the gate's
own limit is max_file_bytes."""


@Language.component("gates_lower_lemma")
def _lower_lemma(doc: Doc) -> Doc:
    for token in doc:
        token.lemma_ = token.lower_
    return doc


def _offline() -> None:
    """tldextract (e-mail validation) would fetch the public suffix list on first use; its bundled
    snapshot is enough and keeps the gate offline and deterministic."""
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    # Presidio logs at WARNING for every language a recognizer lacks; the gate reports its own way.
    for name in ("presidio-analyzer", "tldextract"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _pipeline(model: str | None) -> Language:
    if model is None:
        nlp = spacy.blank(LANGUAGE)
        nlp.add_pipe("gates_lower_lemma")
    elif not (spacy.util.is_package(model) or Path(model).exists()):
        raise GateError(
            f"spacy_model {model!r} is not installed: pip install it or point spacy_model at a "
            "saved pipeline directory (the gate never downloads models)"
        )
    else:
        try:
            nlp = spacy.load(model)
        except (OSError, ValueError) as e:
            raise GateError(f"spacy_model {model!r} could not be loaded: {e}") from e
    nlp.max_length = MAX_TEXT_CHARS
    return nlp


ISSUED_CARDS = Pattern(
    "issued card numbers Presidio's pattern misses",
    r"\b(?:2[2-7]\d{2}(?:[- ]?\d{4}){3}|4\d{3}(?:[- ]?\d{4}){3}[- ]?\d{3})\b",
    0.3,  # Presidio's card score; Luhn-valid numbers score 1.0
)
"""Mastercard's 2-series (2221-2720, 16 digits) and 19-digit Visa numbers, which Presidio's card
pattern (4, 5, 6, 1 or 3 first, at most 17 digits) never matches. Only with repository precision,
whose card_brand rule then keeps a number only for an issuer's prefix and length: `precision:
presidio` stays the naive call."""


class _BlankOnFirstUse(dict[str, Language | None]):
    """The NLP engine's pipelines, where the blank one is built when first asked for (about 0.1 s):
    without a model only the results a context word may lift need it, in a few files of a
    thousand."""

    def __getitem__(self, language: str) -> Language:
        nlp = super().__getitem__(language)
        if nlp is None:
            nlp = self[language] = _pipeline(None)
        return nlp


def build_engine(config: ScanConfig) -> AnalyzerEngine:
    _offline()
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "gates"}])
    # Set, not load()ed: SpacyNlpEngine.load() would download a missing model.
    pipelines = _BlankOnFirstUse(
        {LANGUAGE: None if config.spacy_model is None else _pipeline(config.spacy_model)}
    )
    nlp_engine.nlp = pipelines  # type: ignore[assignment]
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    if config.precision == REPOSITORY:
        registry.add_recognizer(CreditCardRecognizer(patterns=[ISSUED_CARDS], name="IssuedCardRecognizer"))
    for custom in config.recognizers:
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=custom.entity,
                name=custom.name,
                patterns=[Pattern(custom.name, custom.regex, custom.score)],
                context=list(custom.context),
            )
        )
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
    patterns = {
        entity
        for r in registry.recognizers
        if not isinstance(r, SpacyRecognizer)
        for entity in r.supported_entities
    }
    supported = set(engine.get_supported_entities(LANGUAGE))
    for entity in config.entities:
        if entity not in supported:
            raise GateError(f"entity {entity!r} has no Presidio recognizer (add one in recognizers)")
        if entity not in patterns and config.spacy_model is None:
            raise GateError(f"entity {entity!r} needs a spaCy NER model: set spacy_model")
    return engine


_DIGIT_SHAPES = {"PHONE_NUMBER": 2, "CREDIT_CARD": 2, "US_SSN": 2, "IBAN_CODE": 2, "IP_ADDRESS": 0}


def _preview(entity: str, value: str) -> str:
    keep = _DIGIT_SHAPES.get(entity)
    return mask_value(value) if keep is None else mask_digits(value, keep)


def _line_around(text: str, start: int, end: int) -> str:
    """The whole line (or lines) a match stands on."""
    line_end = text.find("\n", end)
    return text[text.rfind("\n", 0, start) + 1 : len(text) if line_end < 0 else line_end]


class Scanner:
    """Scans texts with one engine; built once per process."""

    def __init__(self, config: ScanConfig, *, fast: bool = True) -> None:
        """`fast=False` is the naive call, one `analyze()` per file (the benchmark's reference)."""
        self.config = config
        self.engine = build_engine(config)
        self.allow = AllowList(config)
        self._fast = fast and config.spacy_model is None
        selected = self.engine.registry.get_recognizers(language=LANGUAGE, entities=list(config.entities))
        self._recognizers = [r for r in selected if not isinstance(r, SpacyRecognizer)]
        self._phone_cache: dict[tuple[str, int], list[RecognizerResult]] = {}
        # phonenumbers compiles its metadata patterns through the re module's cache (512 entries),
        # which the patterns of eight regions overflow; a scan keeps them all.
        phonenumbers.enable_pattern_cache()
        phones = [r for r in self._recognizers if isinstance(r, PhoneRecognizer)]
        if phones and tuple(phones[0].supported_regions) != PRESIDIO_REGIONS:
            # The pre-filter would skip texts where this Presidio's regions find numbers.
            raise GateError(
                f"pii: Presidio's phone regions {phones[0].supported_regions} are not the "
                f"{PRESIDIO_REGIONS} the pre-filter reads (gates.pii.phone.PRESIDIO_REGIONS)"
            )
        self._region_filter = presidio_regions()
        self._judge = (
            Judge(phones[0].supported_regions if phones else ()) if config.precision == REPOSITORY else None
        )
        enhancer = self.engine.context_aware_enhancer
        self._boost = enhancer.context_similarity_factor
        self._boost_floor = enhancer.min_score_with_context_similarity

    def warm_up(self) -> Scanner:
        """Pays the one-off costs of a first scan now (about 0.25 s), so that a benchmark times the
        scan alone and a fork server's workers start with them paid: the loading of what
        WARM_UP_TEXT's values need and the pipeline that reads context words."""
        self.scan("warm-up", WARM_UP_TEXT)
        self.engine.nlp_engine.process_text("warm-up", LANGUAGE)
        return self

    def scan(self, path: str, text: str, candidates: Candidates | None = None) -> list[Hit]:
        """Every value found, those a precision rule finds not personal marked so.

        `candidates`: those of `text` as `prepared()` returns it, when the caller has them."""
        if candidates is None:
            text = self.prepared(text)
        if self._fast:
            results = self._fast_results(text, candidates or Candidates(text, self._region_filter.reads_any))
        else:
            results = self._analyze(text)
        kept = [r for r in results if r.score >= self.config.min_scores[r.entity_type]]
        if not kept:
            return []
        lines = LineIndex(text)
        hits = []
        for r in sorted(kept, key=lambda r: (r.start, r.end, r.entity_type)):
            value = text[r.start : r.end]
            if self.allow.allows(r.entity_type, value):
                continue
            found = Found(path, text, r.entity_type, r.start, r.end)
            hits.append(
                Hit(
                    path=path,
                    entity=r.entity_type,
                    start=r.start,
                    end=r.end,
                    line=lines.line(r.start),
                    score=round(r.score, 4),
                    preview=_preview(r.entity_type, value),
                    value_hash=salted_hash(value, self.config.salt),
                    marked=INLINE_MARKER in _line_around(text, r.start, r.end),
                    not_personal=self._judge.not_personal(found) if self._judge else "",
                )
            )
        return hits

    def prepared(self, text: str) -> str:
        """The text as the recognizers see it: with repository precision, path data blanked."""
        return mask_path_data(text) if self._judge else text

    def _analyze(self, text: str) -> list[RecognizerResult]:
        return self.engine.analyze(
            text=text,
            language=LANGUAGE,
            entities=list(self.config.entities),
            score_threshold=self.config.threshold,
        )

    def _boosted(self, result: RecognizerResult, recognizer: EntityRecognizer) -> float:
        """The best score context enhancement could give a raw result."""
        if not recognizer.context:
            return result.score
        return min(1.0, max(result.score + self._boost, self._boost_floor))

    def _fast_results(self, text: str, candidates: Candidates) -> list[RecognizerResult]:
        parts: dict[Windows, SparseText | None] = {}
        sure: list[RecognizerResult] = []
        borderline: list[tuple[RecognizerResult, EntityRecognizer]] = []
        for recognizer in self._recognizers:
            windows_of = OWN_WINDOWS.get(type(recognizer))
            if isinstance(recognizer, PhoneRecognizer):
                found = self._phones(recognizer, candidates.phones)
            elif windows_of is None:
                # A custom or not pre-filtered recognizer may match anywhere.
                found = recognizer.analyze(text, list(self.config.entities), None)  # type: ignore[arg-type]
            else:
                if windows_of not in parts:
                    found_windows = candidates.windows(windows_of)
                    parts[windows_of] = SparseText.build(text, found_windows) if found_windows else None
                part = parts[windows_of]
                if part is None:
                    continue
                # Pattern recognizers do not use NLP artifacts (the type hint says otherwise).
                found = recognizer.analyze(part.text, list(self.config.entities), None)  # type: ignore[arg-type]
                for r in found or ():
                    r.start, r.end = part.original(r.start), part.original(r.start) + r.end - r.start
            for r in found or ():
                threshold = self.config.min_scores.get(r.entity_type)
                if threshold is None or self._boosted(r, recognizer) < threshold:
                    continue
                r.recognition_metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY] = recognizer.id
                if r.score >= threshold:
                    sure.append(r)
                elif self._context_nearby(text, r, recognizer):
                    borderline.append((r, recognizer))
        results = sure + self._with_context(text, borderline)
        return EntityRecognizer.remove_duplicates([r for r in results if r.score >= self.config.threshold])

    def _phones(self, recognizer: PhoneRecognizer, units: Sequence[PhoneUnit]) -> list[RecognizerResult]:
        """The phone recognizer on each digit cluster that can hold a number, through a cache of
        units: phonenumbers costs per cluster and region, and code repeats its numbers."""
        out: list[RecognizerResult] = []
        for unit in units:
            # The same text may hold a cluster at another place (at the end of a file).
            key = (unit.text, unit.start - unit.offset)
            cached = self._phone_cache.get(key)
            if cached is None:
                if len(self._phone_cache) > PHONE_CACHE_SIZE:
                    self._phone_cache.clear()
                cached = self._phone_cache[key] = self._phone_unit_results(recognizer, unit)
            out += (_shifted(r, unit.offset) for r in cached)
        return out

    def _phone_unit_results(self, recognizer: PhoneRecognizer, unit: PhoneUnit) -> list[RecognizerResult]:
        """What `recognizer.analyze(unit.text)` returns over the unit's cluster, running only the
        regions whose matcher may find a number there (gates.pii.phone says why the others
        cannot), one at a time, until a match covers every place a match may take."""
        span = reach(unit.text[: unit.core_end])
        if span is None:
            return []
        regions = self._region_filter
        found: list[RecognizerResult] = []
        for region in regions.possible_alone(unit.cluster) if unit.alone else regions.possible(unit.text):
            # The recognizer's own loop, one region at a time, without the `parse()` of each match
            # it adds only to name the number's region in the explanation.
            leniency = recognizer.leniency
            assert leniency is not None, "phonenumbers' matcher needs a leniency (Presidio's default is 1)"
            for match in regions.matches(unit.text, region, leniency):
                if match.start < unit.end - unit.offset and match.end > unit.start - unit.offset:
                    found.append(recognizer._get_recognizer_result(match, unit.text, region, None))  # type: ignore[no-untyped-call]
            if any(r.start <= span[0] and r.end >= span[1] for r in found):
                break
        return EntityRecognizer.remove_duplicates(found) if len(found) > 1 else found

    @staticmethod
    def _context_nearby(text: str, result: RecognizerResult, recognizer: EntityRecognizer) -> bool:
        """Whether a context word occurs before the result at all: keywords are lower-cased tokens
        and Presidio matches context words as substrings of them, so without one in the text
        before it no tokenization can lift the result."""
        lo = max(0, result.start - CONTEXT_PREFIX)
        before = text[snap_back(text, lo) if lo else 0 : result.end].lower()
        return any(word.lower() in before for word in recognizer.context)

    def _with_context(
        self, text: str, borderline: Sequence[tuple[RecognizerResult, EntityRecognizer]]
    ) -> list[RecognizerResult]:
        """Phase 2, for the results that only context words can lift to the threshold: Presidio's
        context enhancer on the text just before them (it looks five keywords back), tokenized
        by the pipeline. Results already above the threshold keep their recognizer's score:
        tokenizing around every hit of a PII-dense file would cost more than the whole scan."""
        out: list[RecognizerResult] = []
        ordered = sorted(borderline, key=lambda pair: pair[0].start)
        for lo, hi, members in _groups(text, [(r.start, r.end) for r, _ in ordered]):
            group = [ordered[i] for i in members]
            shifted = []
            for r, _ in group:
                copy = RecognizerResult(
                    r.entity_type, r.start - lo, r.end - lo, r.score,
                    r.analysis_explanation, dict(r.recognition_metadata),
                )  # fmt: skip
                shifted.append(copy)
            enhanced = self.engine.context_aware_enhancer.enhance_using_context(
                text=text[lo:hi],
                raw_results=shifted,
                nlp_artifacts=self.engine.nlp_engine.process_text(text[lo:hi], LANGUAGE),
                recognizers=[rec for _, rec in group],
            )
            for r in enhanced:
                r.start += lo
                r.end += lo
                out.append(r)
        return out


def _shifted(result: RecognizerResult, offset: int) -> RecognizerResult:
    return RecognizerResult(
        result.entity_type,
        result.start + offset,
        result.end + offset,
        result.score,
        result.analysis_explanation,  # shared: Presidio's context enhancer copies what it changes
        dict(result.recognition_metadata),
    )


def _groups(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int, list[int]]]:
    """Windows for phase 2 with the indexes of the sorted spans each serves: CONTEXT_PREFIX
    characters before each span, merged while they stay under GROUP_CHARS (windows may overlap;
    every span is in exactly one)."""
    groups: list[tuple[int, int, list[int]]] = []
    for i, (start, end) in enumerate(spans):
        lo = snap_back(text, start - CONTEXT_PREFIX) if start > CONTEXT_PREFIX else 0
        hi = snap_forward(text, end)
        if groups and lo <= groups[-1][1] and hi - groups[-1][0] <= GROUP_CHARS:
            last = groups[-1]
            groups[-1] = (last[0], max(hi, last[1]), [*last[2], i])
        else:
            groups.append((lo, hi, [i]))
    return groups
