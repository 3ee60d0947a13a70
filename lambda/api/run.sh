#!/bin/bash
# The streaming function's entry point: the Lambda Web Adapter layer (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap)
# runs it, waits for GET /ready, then forwards each invocation to the app and streams its response back.
# The deployment package holds api/, common/ and the pinned packages at its root, ahead of the runtime's own.
# The port is the one the adapter calls: AWS_LWA_PORT, else PORT, else 8080.
PYTHONPATH="$LAMBDA_TASK_ROOT:/opt/python:$PYTHONPATH" exec python3 -m uvicorn api.stream:app \
  --host 127.0.0.1 --port "${AWS_LWA_PORT:-${PORT:-8080}}" --no-access-log --log-level warning
