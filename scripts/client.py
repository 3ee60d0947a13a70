"""Call the deployed REST API from the command line: the deployer's client, and the end-to-end check behind
`make smoke`.

Run it after `make deploy`, with AWS credentials for the account and region of the stack (AWS_PROFILE,
`aws sso login`, environment variables...) allowed to call cloudformation:DescribeStacks on the Application
stack and cognito-idp:DescribeUserPoolClient on its user pool. The stack is <stack_prefix>-Application, in the
region of the configuration in cdk.json (else the SDK's); --stack-name and --region say otherwise. It reads
the stack outputs ApiUrl, UserPoolId, MachineClientId and TokenUrl, reads the machine client's secret,
exchanges it at the Cognito token endpoint for an access token (OAuth client credentials, scope genai/invoke,
and genai/admin too for agent --trace) and calls the API with that token; only /health is called without one.
Nothing is written but the tickets you approve, and chat, compare, ask, agent and smoke call Bedrock models,
which are billed like any other call.

Subcommands:
  health    GET /health: is the API up (no token needed)
  models    GET /models: the models chat and compare accept, as a table of id and name, and the max tokens
  chat      POST /chat: one prompt to one model (default: the first of `models`); prints the answer, then
            model · stop reason · tokens in/out · latency, and [guardrail intervened] when the guardrail did
  compare   POST /compare: one prompt to 2 to 4 models side by side (default: the first two of `models`)
  retrieve  POST /retrieve: the knowledge base passages nearest to a query, with their scores and sources
  ask       POST /ask: an answer from the knowledge base with numbered citations (RAG)
  agent     POST /agent: talk to the agent; it answers with numbered citations. When it wants to create or close
            a ticket it shows the tool and its input and asks "Run it? [y/N]": --yes approves, --no (or a stdin
            that is not a terminal) declines. --trace prints the tools it called (needs the genai/admin scope)
  smoke     each route once, in that order (the agent gets a harmless question, no ticket), and chat once more
            streamed: one PASS/FAIL line per route with its HTTP status and latency

chat, ask and agent take --stream: the answer comes from <route>/stream as server-sent events and is printed as
it arrives. When the guardrail intervenes mid-answer, the text already printed is withdrawn: disregard it, the
guardrail's message follows. With --json, each event prints as one line of JSON, {"event": ..., "data": ...}.

ask and agent print the session they answered in: pass it back with --session-id to continue that
conversation. The API issues session ids to one caller, this machine client, and refuses them to anyone else.
--stack-name, --region and --json (print the raw JSON responses instead of text) go before or after the
subcommand. The routes' methods and paths are read from lambda/api/routes.json, where the API declares them.

Exit codes:
  0  the API answered (smoke: every route passed)
  1  the API answered with an error, printed as `client: error: <status> <code>: <message> (request <id>)`
     (`stream` for <status> when a streamed answer ended in an error event), a stream broke off or was not the
     API's server-sent events, or a smoke route failed
  2  the run could not be made: bad arguments or configuration, no AWS credentials or region, stack or outputs
     not found, the token endpoint refused the machine client, the API could not be reached, or the agent
     asked to confirm more than 5 tool calls in a row

Examples:
  make smoke
  .venv/bin/python scripts/client.py chat "Hello"
  .venv/bin/python scripts/client.py chat "Write a haiku about streams" --stream
  .venv/bin/python scripts/client.py compare "Explain RAG in one sentence" --model ID --model ID
  .venv/bin/python scripts/client.py ask "How do I add documents to the knowledge base?"
  .venv/bin/python scripts/client.py agent "Open a ticket: the nightly sync failed"
  .venv/bin/python scripts/client.py agent "Is it open?" --session-id SESSION --trace
  .venv/bin/python scripts/client.py --stack-name MyPrefix-Application --region eu-west-1 models --json
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/client.py`, the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from scripts.aws_errors import describe_aws_error  # noqa: E402
from scripts.client_commands import (  # noqa: E402
    COMPARE_MODELS,
    EXIT_ERROR,
    EXIT_FAILED,
    Ask,
    run_agent,
    run_ask,
    run_chat,
    run_compare,
    run_health,
    run_models,
    run_retrieve,
    run_smoke,
)
from scripts.client_routes import ROUTES  # noqa: E402
from scripts.client_transport import ADMIN_SCOPE, INVOKE_SCOPE, ApiError, Client, Opener, RunError  # noqa: E402
from scripts.stack_outputs import StackError, locate  # noqa: E402

SESSION_HELP: Final = "continue the conversation of an earlier answer's session (default: a new one)"

COMMANDS: Final[dict[str, Callable[[Client, argparse.Namespace, Ask | None], int]]] = {
    "health": run_health,
    "models": run_models,
    "chat": run_chat,
    "compare": run_compare,
    "retrieve": run_retrieve,
    "ask": run_ask,
    "agent": run_agent,
    "smoke": run_smoke,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="client.py",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, in_subcommand=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        """The subcommand of the route `name` (smoke has none), its help led by the route's method and path."""
        route = ROUTES.get(name)
        summary = f"{route.method} {route.path}: {summary}" if route else summary
        subparser = commands.add_parser(name, help=summary, description=summary)
        _add_global_options(subparser, in_subcommand=True)
        if route and route.stream:
            subparser.add_argument(
                "--stream",
                action="store_true",
                help=f"POST {route.stream_path} instead, and print the answer as it arrives",
            )
        return subparser

    max_tokens = "most tokens of the answer (default and ceiling: see `models`)"
    command("health", "is the API up (no token needed)")
    command("models", "the models chat and compare accept")
    chat = command("chat", "one prompt to one model")
    chat.add_argument("prompt")
    chat.add_argument("--model", metavar="ID", help="model id (default: the first of GET /models)")
    chat.add_argument("--max-tokens", type=int, metavar="N", help=max_tokens)
    chat.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    compare = command("compare", "one prompt to 2 to 4 models side by side")
    compare.add_argument("prompt")
    compare.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="ID",
        help="a model to compare; give it 2 to 4 times (default: the first two of GET /models)",
    )
    retrieve = command("retrieve", "knowledge base passages nearest to a query")
    retrieve.add_argument("query")
    retrieve.add_argument("--top-k", type=int, metavar="N", help="how many passages (default: the API's)")
    ask = command("ask", "an answer from the knowledge base, with citations")
    ask.add_argument("question")
    ask.add_argument("--session-id", metavar="S", help=SESSION_HELP)
    ask.add_argument("--max-tokens", type=int, metavar="N", help=max_tokens)
    agent = command("agent", "talk to the agent, confirming the tickets it creates or closes")
    agent.add_argument("input")
    agent.add_argument("--session-id", metavar="S", help=SESSION_HELP)
    agent.add_argument(
        "--trace",
        action="store_true",
        help="print the tools the agent called (requests the genai/admin scope; not with --stream)",
    )
    decision = agent.add_mutually_exclusive_group()
    decision.add_argument("--yes", action="store_true", help="run every tool call the agent asks to confirm")
    decision.add_argument("--no", action="store_true", help="decline every tool call the agent asks to confirm")
    command("smoke", "call every route once: one PASS/FAIL line each; exit 1 if any failed")
    return parser


def _add_global_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    """The options accepted before and after the subcommand; after it, they only override what was given."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if in_subcommand else value

    parser.add_argument(
        "--stack-name",
        default=default(None),
        metavar="NAME",
        help="Application stack (default: <stack_prefix>-Application, as cdk.json configures it)",
    )
    parser.add_argument(
        "--region",
        default=default(None),
        help="AWS region of the stack (default: the region cdk.json configures, else the SDK's)",
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="print the raw JSON responses")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "compare" and args.models is not None:
        low, high = COMPARE_MODELS
        if not low <= len(args.models) <= high:
            parser.error(f"compare takes {low} to {high} --model options, got {len(args.models)}")
    if getattr(args, "trace", False) and args.stream:
        parser.error("agent --trace cannot be combined with --stream: the stream carries no trace")
    return args


def main(
    argv: Sequence[str] | None = None,
    *,
    cloudformation: Any = None,
    cognito: Any = None,
    opener: Opener | None = None,
    ask: Ask | None = None,
) -> int:
    """Run one subcommand; returns the exit code. Missing clients are boto3's for the stack's region, urllib's
    opener, and `input` for `ask` when stdin is a terminal."""
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # argparse printed the help, or the usage and a one-line error
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    if ask is None and sys.stdin.isatty():
        ask = input
    try:
        stack_name, region = locate(args.stack_name, args.region)
        client = Client(
            stack_name=stack_name,
            region=region,
            cloudformation=cloudformation,
            cognito=cognito,
            opener=opener or urllib.request.urlopen,
            scopes=(INVOKE_SCOPE, ADMIN_SCOPE) if getattr(args, "trace", False) else (INVOKE_SCOPE,),
        )
        return COMMANDS[args.command](client, args, ask)
    except ApiError as error:
        return fail(str(error), EXIT_FAILED)
    except (RunError, StackError) as error:
        return fail(str(error), EXIT_ERROR)
    except (ClientError, BotoCoreError) as error:
        return fail(describe_aws_error(error), EXIT_ERROR)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def fail(message: str, code: int) -> int:
    print(f"client: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
