"""Developer scripts behind make targets; a package so that tests and mypy import them as `scripts.<name>`."""
