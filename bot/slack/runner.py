"""Starts the Slack app in one process: the app, the sync scheduler, and the transport
(HTTP with waitress, or Socket Mode). ``policybot serve`` is a thin wrapper around it."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.settings import AppSettings
from bot.slack.app import build_app
from bot.slack.client import web_client
from bot.slack.http import WsgiApp, serve_http
from bot.slack.secrets import SlackSecrets, load_secrets
from bot.slack.services import Services
from indexer.errors import ConfigError

log = logging.getLogger(__name__)


ACK_SWITCH_INTERVAL_S = 0.001


def start_services(settings: AppSettings, secrets: SlackSecrets
                   ) -> tuple[Services, Any, Any]:
    """(services, bolt app, scheduler or None), with Slack reachable."""
    # Acks wait for the GIL behind answer threads; a shorter switch interval (default
    # 5 ms) hands it to a waiting request thread sooner (bench/slack_load.py).
    sys.setswitchinterval(ACK_SWITCH_INTERVAL_S)
    if settings.slack.torch_threads:
        # Several answers embed at once; one thread each keeps a core for the request
        # threads instead of oversubscribing the CPU (syncs in this process are slower).
        import torch

        torch.set_num_threads(settings.slack.torch_threads)
    client = web_client(secrets.bot_token, secrets.api_url)
    svc = Services.build(settings, client)
    try:
        # Socket Mode has no signing secret: Slack's own connection authenticates
        app = build_app(svc, None if secrets.app_token else secrets.signing_secret)
    except SlackApiError as exc:
        raise ConfigError(f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')}); "
                          "check the token and POLICYBOT_SLACK_API_URL") from exc
    _forget_events_regularly(svc)
    scheduler = None
    if settings.slack.run_scheduler and any(s.schedule for s in settings.sources):
        from indexer.scheduler import ScheduleLeader

        scheduler = ScheduleLeader(svc.index).start()  # one replica schedules
    _warm_up(svc)
    _watch_adapters(svc)
    return svc, app, scheduler


EVENTS_PRUNE_EVERY_S = 3600.0  # the processed-events table is pruned this often


def _forget_events_regularly(svc: Services) -> None:
    """Prune the processed Slack event ids now and every EVENTS_PRUNE_EVERY_S: a bot that
    runs for months must not keep every event id it ever saw (the table only needs the
    minutes in which Slack may still retry)."""
    stop = threading.Event()

    def prune() -> None:
        while True:
            try:
                gone = svc.history.forget_events()
                if gone:
                    log.info("forgot %d processed Slack event id(s)", gone)
            except Exception:  # the database may be briefly away: try again next time
                log.exception("could not prune the processed Slack events")
            if stop.wait(EVENTS_PRUNE_EVERY_S):
                return

    svc.history.forget_events()  # at start, before the first request, as before
    threading.Thread(target=lambda: stop.wait(EVENTS_PRUNE_EVERY_S) or prune(),
                     name="forget-events", daemon=True).start()
    svc.on_close.append(stop.set)


def _watch_adapters(svc: Services) -> None:
    """Checks the LLM server and the adapters in use now and every check_interval_s; an
    adapter the server does not list is replaced by the base model until it is back."""
    if svc.adapters is None:
        return
    from bot.answering import build_generator
    from bot.lora.health import AdapterHealth

    generator = build_generator(svc.settings.generator, None)  # type: ignore[arg-type]
    if not generator.lists_models:  # nothing to ask which adapters are served
        return
    health = AdapterHealth(svc.adapters, generator.list_models)
    svc.on_close.append(health.stop)
    # the first check may wait for a connect timeout: never on the start path
    threading.Thread(target=health.start, name="adapter-health-start", daemon=True).start()


def _warm_up(svc: Services) -> None:
    """Load the model (and, on a fresh install, index the sources) before the first
    question needs them, so nobody waits seconds for their first answer."""
    def warm() -> None:
        svc.index.store.refresh()
        if not svc.index.store.exists and svc.settings.sources:
            log.info("the index is empty: syncing every source now")
            svc.index.sync(trigger="startup")
        log.info("model and index loaded in %.1f s", svc.index.warm())

    svc.syncs.submit(warm)


SHUTDOWN_GRACE_S = 20.0  # within Kubernetes' default 30 s termination grace period


def serve(settings: AppSettings, socket_mode: bool, host: str, port: int,
          threads: int = 16) -> None:
    secrets = load_secrets(settings.slack, socket_mode)  # before anything starts
    svc, app, scheduler = start_services(settings, secrets)
    # SIGTERM (docker stop, Kubernetes) stops like Ctrl-C: no new requests, and the
    # questions already acknowledged are answered, because Slack won't send them again.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if socket_mode:
            _serve_socket(svc, app, str(secrets.app_token), host, port)
        else:
            serve_http(WsgiApp(svc, app), host, port, threads=threads)
    except KeyboardInterrupt:
        log.info("stopping: finishing the questions in progress (up to %.0f s)",
                 SHUTDOWN_GRACE_S)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        svc.close(grace_s=SHUTDOWN_GRACE_S)


def _serve_socket(svc: Services, app: Any, app_token: str, host: str, port: int) -> None:
    """Socket Mode for installs without a public URL; /healthz and /metrics still on
    ``port`` so orchestration can probe the process."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token, web_client=svc.client)
    if port:
        threading.Thread(target=serve_http, args=(WsgiApp(svc, None), host, port, 4),
                         daemon=True, name="health").start()
    handler.connect()
    log.info("PolicyBot connected to Slack in Socket Mode")
    try:
        threading.Event().wait()  # until SIGINT/SIGTERM raise KeyboardInterrupt
    finally:
        handler.close()
