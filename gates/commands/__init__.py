"""Sub-commands that live in their own module; gates/cli.py names each in COMMANDS, imported when run."""
