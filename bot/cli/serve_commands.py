"""``policybot serve``: the Slack app."""

from __future__ import annotations

from typing import Any

import click


@click.command()
@click.option("--http", "mode", flag_value="http", default=True,
              help="Events API over HTTP at /slack/events (default).")
@click.option("--socket", "mode", flag_value="socket",
              help="Socket Mode (needs SLACK_APP_TOKEN); no public URL needed.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 in a container).")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535),
              help="HTTP port: Slack requests, /healthz, /metrics (Socket Mode: probes only).")
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 256),
              help="HTTP worker threads (requests only; answers use slack.workers).")
@click.pass_obj
def serve(app: Any, mode: str, host: str, port: int, threads: int) -> None:
    """Run the Slack app (and the sync scheduler, unless slack.run_scheduler = false).

    Secrets are settings, best set in the environment: SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET, and SLACK_APP_TOKEN for --socket; POLICYBOT_SLACK_API_URL for
    another Slack API host (`policybot config show` prints them, redacted).
    """
    from bot.cli.db_commands import upgrade_state
    from bot.slack.runner import serve as run

    upgrade_state(app.settings)
    run(app.settings, mode == "socket", host, port, threads)


COMMANDS = [serve]
