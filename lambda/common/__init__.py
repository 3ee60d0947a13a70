"""Code every function shares: JSON Schema checks and AWS error details. Each function's asset includes it."""
