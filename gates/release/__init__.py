"""Release control: a verdict bound to its commit and policy, signed (DSSE), checked before a tag.

envelope: in-toto Statement in a DSSE envelope, HMAC-SHA256 and Ed25519 signatures.
check:    the rules a verdict must meet, each failure one reason.
tag:      annotated tag, git note and publish command, all or nothing.
"""
