"""What the scan's fork server imports before it forks any worker (gates.pii.scan).

Importing this module imports Presidio and spaCy and builds and warms up an analyzer for the
default policy, in the one process every worker is forked from: a worker then starts with what a
first scan loads (tldextract's suffix trie, phonenumbers' metadata and compiled patterns, the region
filter's caches), and under the default policy with its analyzer built. Under another policy a
worker builds its own (gates.pii.scan keeps one analyzer per configuration).
"""

from __future__ import annotations

import contextlib

from gates.errors import GateError
from gates.pii.scan import prepare
from gates.pii.settings import scan_config

# A worker builds its analyzer again and reports what fails.
with contextlib.suppress(GateError):
    prepare(scan_config({}))
