"""The policies shipped with gates (YAML files beside this module)."""
