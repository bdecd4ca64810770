"""The reviewed table: licence names seen in real SBOMs and package metadata that neither the SPDX
ids, their aliases, the SPDX licence list's full names nor the ScanCode keys name, each with the
SPDX expression it stands for.

Keys are written as they appear in the wild and compared after gates.sbom.licence_names.words()
(case, punctuation, "the", "license"/"licence", "version"/"v" and trailing ".0" do not matter), so
`Apache License, Version 2.0` and `apache-2` are one entry. Every entry is tested
(tests/test_licence_names.py); add one only with the evidence for it in its comment.

A name without a version means any version ("If the Program does not specify a version number of
this License, you may choose any version ever published", GPL-2.0 section 9, LGPL and MPL alike):
the earliest version, or later. Every version of such a family has the same ScanCode category.
"""

from __future__ import annotations

_GPL2_CPE = "GPL-2.0-only WITH Classpath-exception-2.0"
_GLASSFISH = f"CDDL-1.1 OR {_GPL2_CPE}"

NAMES: dict[str, str] = {
    # Apache: the ASF's own short names (ASL, ALv2, ASF), the PyPI trove classifier "Apache Software
    # License" (no version; every project using it since 2004 means 2.0) and Maven POMs' plurals.
    "Apache": "Apache-2.0",
    "Apache Software License": "Apache-2.0",
    "Apache Software License 2.0": "Apache-2.0",
    "ASL": "Apache-2.0",
    "ASL 2.0": "Apache-2.0",
    "ALv2": "Apache-2.0",
    "ASF 2.0": "Apache-2.0",
    "Apache Public License 2.0": "Apache-2.0",
    # BSD without a clause count: the trove classifier "BSD License" and POMs' "The BSD License".
    # The 3-clause ("new") licence is what the name most often means; all BSD variants are
    # Permissive, and the declared text is kept next to the key in every finding.
    "BSD": "BSD-3-Clause",
    "New BSD": "BSD-3-Clause",
    "Modified BSD": "BSD-3-Clause",
    "Revised BSD": "BSD-3-Clause",
    "BSD 3-clause New License": "BSD-3-Clause",
    "3-Clause BSD License": "BSD-3-Clause",  # protobuf-parent 3.19
    "BSD 3": "BSD-3-Clause",  # hamcrest 2.2: "BSD License 3"; functionaljava 5.0: "The BSD3 License"
    "Go License": "BSD-3-Clause",  # re2j's POM: Go's own LICENSE, the 3-clause BSD text
    "Simplified BSD": "BSD-2-Clause",
    "FreeBSD": "BSD-2-Clause",
    # Eclipse Distribution License 1.0 is the 3-clause BSD licence (SPDX lists it as BSD-3-Clause).
    "Eclipse Distribution License 1.0": "BSD-3-Clause",
    "EDL 1.0": "BSD-3-Clause",
    "EDL": "BSD-3-Clause",
    "Eclipse Distribution License": "BSD-3-Clause",  # jgit-parent 6.7: "... (New BSD License)"
    "Eclipse Public License": "EPL-1.0",
    "EPL": "EPL-1.0",
    # GNU families without a version (any version; bare GPL is an alias in the licence database).
    "GNU GPL": "GPL-1.0-or-later",
    "GNU General Public License": "GPL-1.0-or-later",
    "LGPL": "LGPL-2.0-or-later",
    "GNU LGPL": "LGPL-2.0-or-later",
    "GNU Lesser General Public License": "LGPL-2.0-or-later",
    "GNU Library or Lesser General Public License": "LGPL-2.0-or-later",
    "Lesser General Public License": "LGPL-2.0-or-later",
    "AGPL": "AGPL-3.0-or-later",  # the Affero GPL 1.0 was Affero Inc.'s, the GNU AGPL starts at 3
    "GNU Affero General Public License": "AGPL-3.0-or-later",
    # GPL with the Classpath exception, as the GlassFish and JDK projects name it ("CPE").
    "GPL2 w/ CPE": _GPL2_CPE,
    "GPLv2 with Classpath Exception": _GPL2_CPE,
    "GNU General Public License, version 2 with the GNU Classpath Exception": _GPL2_CPE,
    "GNU General Public License, version 2, with the Classpath Exception": _GPL2_CPE,
    # CDDL: 1.0 without a version; GlassFish's dual licence is a choice between CDDL 1.1 and
    # GPL 2 with the Classpath exception (https://javaee.github.io/glassfish/LICENSE).
    "CDDL": "CDDL-1.0",
    "Common Development and Distribution License": "CDDL-1.0",
    "CDDL+GPL": _GLASSFISH,
    "CDDL + GPLv2 with classpath exception": _GLASSFISH,
    "CDDL/GPLv2+CE": _GLASSFISH,
    "Dual license consisting of the CDDL v1.1 and GPL v2": _GLASSFISH,
    # Mozilla, Creative Commons, MIT and others without a version, or under another common name.
    "MPL": "MPL-1.0",
    "Mozilla Public License": "MPL-1.0",
    "CC0": "CC0-1.0",
    "Public Domain, per Creative Commons CC0": "CC0-1.0",
    "MIT/X11": "MIT",  # one licence under two names, not a choice of MIT and X11
    "Expat": "MIT",
    "Bouncy Castle Licence": "MIT",  # the Bouncy Castle licence is the MIT licence text
    "ISCL": "ISC",
    "PSF": "PSF-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "Zope Public License": "ZPL-1.1",
    "Academic Free License": "AFL-1.1",
    "PD": "LicenseRef-scancode-public-domain",
}

CLASSIFIER_PREFIXES = ("License :: OSI Approved :: ", "License :: ")
"""Python trove classifiers (`License :: OSI Approved :: BSD License`) name a licence after these."""
