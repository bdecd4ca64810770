"""Sub-commands that live in their own module; gates/cli.py registers each with `cli.add_command`."""
