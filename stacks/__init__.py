"""The CDK app's stacks, constructs and configuration; `stacks.app.build_app` is what app.py synthesizes."""
