"""Stack files -> a checked Stack (stack.py, deployer's YAML, Compose), and back (codegen)."""
