"""Alerts that reach a person: a monitoring summary sent to webhooks and email addresses.

``workbench monitor --notify TARGET`` calls :func:`notify` once the verdict is known, for every
outcome: drift, invalid data, a failed run, a retrain request (a clean run only when asked); a
served A/B test calls it when a guardrail cuts the challenger off (``status: "guardrail"``). A
target is an ``http(s)://`` URL (the summary is POSTed as JSON) or an email address (``mailto:``
optional; sent by SMTP with the ``WORKBENCH_SMTP_*`` settings of the environment).

Each delivery is tried :data:`TRIES` times with exponential backoff within :data:`DEADLINE` s. An
undelivered alert is no exception: its payload and reason go to a dead letter, ``reports/notify-
dead-letter/<UTC time>-<n>.json``. No SMTP password reaches a message, a dead letter or a log.

Example:
    >>> subject({"status": "drift", "model_name": "credit-risk", "model_version": "3",
    ...          "drifted_columns": ["income", "loan_amount"]})
    '[workbench] DRIFT credit-risk v3: income, loan_amount'
"""

from __future__ import annotations

import base64
import email.policy
import json
import os
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["Delivery", "alert_kind", "body", "check_targets", "notify", "subject"]

#: Tries per target (the first included), the first wait between two, and the seconds all tries
#: of one target may take: waits 0.5, 1, 2 s; each try's timeout is cut to what is left.
TRIES, BACKOFF, DEADLINE, TRY_TIMEOUT = 4, 0.5, 15.0, 3.0
#: What each kind of alert says first in its subject (else the kind in capitals: DRIFT, OK).
TITLES = {
    "failed": "MONITOR FAILED",
    "invalid": "INVALID DATA",
    "retrain": "RETRAIN REQUESTED",
    "guardrail": "GUARDRAIL",
}
#: The body's last lines: summary fields (named so, or as the key reads: "exit code").
_LINKS = {"report_path": "report", "report_folder": "report folder", "run_url": "MLflow run"}
_SMTP = "WORKBENCH_SMTP_"
_POLICY = email.policy.default.clone(max_line_length=998)  # a subject never folds


@dataclass
class Delivery:
    """What became of one alert to one target.

    Example:
        >>> Delivery("https://example.org/hook", "webhook", "DRIFT", delivered=True).delivered
        True
    """

    target: str
    channel: str  # "webhook" or "email"
    subject: str
    delivered: bool = False
    attempts: int = 0
    reason: str = ""
    dead_letter: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def text(self) -> str:
        """One line for the console: sent, or why not and where the dead letter is."""
        if self.delivered:
            return f"alert sent to {self.channel} {self.target}: {self.subject}"
        saved = f"saved to {self.dead_letter}" if self.dead_letter else "no dead letter written"
        return (
            f"warning: alert not delivered to {self.channel} {self.target} after "
            f"{self.attempts} {'try' if self.attempts == 1 else 'tries'}: {self.reason}; {saved}"
        )


class _Permanent(Exception):
    """A failure another try would repeat (a refused address, a missing setting)."""


def alert_kind(summary: dict[str, Any]) -> str:
    """What the summary calls for: ``failed``, ``invalid``, ``retrain``, ``drift``, ``guardrail``
    or ``ok``."""
    status = summary.get("status")
    if status == "guardrail":
        return "guardrail"
    if status == "failed" or summary.get("exit_code") == 1:
        return "failed"
    if status == "invalid":
        return "invalid"
    if (summary.get("retrain") or {}).get("requested"):
        return "retrain"
    return "drift" if status == "drift" else "ok"


def subject(summary: dict[str, Any]) -> str:
    """The alert's one line: kind, model and version, then the drifted columns or the reason."""
    kind = alert_kind(summary)
    if kind in ("drift", "retrain"):
        detail = _columns(summary) or "drift"
    elif kind == "invalid":
        detail = _one_line((summary.get("reasons") or [""])[0], 120) or "no drift verdict"
    elif kind == "failed":
        detail = _one_line(summary.get("error") or "", 120) or "the run failed"
    elif kind == "guardrail":
        detail = _one_line(summary.get("reason") or "", 160) or "the challenger was cut off"
    else:
        detail = "no drift"
    return _one_line(
        f"[workbench] {TITLES.get(kind, kind.upper())} {_label(summary)}: {detail}", limit=200
    )


def body(summary: dict[str, Any]) -> str:
    """The alert's text: what happened, the model, the columns, and where to read more."""
    kind = alert_kind(summary)
    tested = [c for c in summary.get("columns") or [] if isinstance(c, dict)]
    drifted = summary.get("drifted_columns") or []
    found = f"Drift in {len(drifted)} of {len(tested)} tested columns"
    lead = {
        "failed": "The monitoring run failed: there is no drift verdict.",
        "invalid": "The batch is invalid data: there is no drift verdict. Fix the export.",
        "retrain": f"{found}; retraining is requested.",
        "drift": f"{found}.",
        "guardrail": "A guardrail cut the challenger off: the champion answers every request now.",
    }.get(kind, "No drift.")
    lines = [lead, "", f"model: {_label(summary)}"]
    if summary.get("model_uri"):
        lines.append(f"model URI: {summary['model_uri']}")
    if kind != "guardrail":
        lines.append(f"drifted columns: {', '.join(map(str, drifted)) or 'none'}")
    if kind == "failed":
        lines.append(f"error: {summary.get('error') or 'unknown'}")
    for reason in summary.get("reasons") or []:
        lines.append(f"invalid: {reason}")
    if kind == "retrain":
        lines.append(f"retrain: {summary['retrain'].get('reason', '')}")
    if kind == "guardrail":
        lines.append(f"guardrail: {summary.get('reason') or ''}")
    for key in [*_LINKS, "executed_notebook", "exit_code", "created_at"]:
        if summary.get(key) not in (None, ""):
            lines.append(f"{_LINKS.get(key, key.replace('_', ' '))}: {summary[key]}")
    return "\n".join(_one_line(line, limit=2000) for line in lines) + "\n"


def check_targets(targets: list[str]) -> list[str]:
    """The targets as given, or a :class:`~workbench.errors.UsageError` naming one that is neither
    an http(s) URL nor an email address (checked before a run, so a typo never loses an alert)."""
    from workbench.errors import UsageError

    for target in targets:
        if _channel(target) is None:
            raise UsageError(
                f"--notify {target!r} is neither an http(s):// URL nor an email address "
                "(name@example.org or mailto:name@example.org)."
            )
    return list(targets)


def notify(
    summary: dict[str, Any],
    targets: list[str],
    *,
    dead_letter_dir: str | os.PathLike | None = None,
    always: bool = False,
    tries: int = TRIES,
    backoff: float = BACKOFF,
    deadline: float = DEADLINE,
) -> list[Delivery]:
    """Send the alert the summary calls for to every target; never raises for a failed delivery.

    Args:
        summary: What ``workbench monitor --json`` prints (status, model, columns, links).
        targets: http(s) URLs (webhooks: the summary POSTed as JSON) and email addresses.
        dead_letter_dir: Where undelivered alerts go (``<workspace>/reports/notify-dead-letter``
            from the commands); ``None``: nowhere.
        always: Also send when nothing is wrong (an ``OK`` alert).
        tries: Tries per target, the first included.
        backoff: The first wait between tries, doubled after each.
        deadline: Seconds all tries of one target may take.

    Returns:
        One :class:`Delivery` per target; none when nothing is wrong and ``always`` is False.
    """
    if not targets or (alert_kind(summary) == "ok" and not always):
        return []
    title, text = subject(summary), body(summary)
    password = os.environ.get(_SMTP + "PASSWORD") or ""
    deliveries = []
    for target in targets:
        channel = _channel(target) or "unknown"
        delivery = Delivery(_shown(target) if channel == "webhook" else target, channel, title)
        if channel == "webhook":
            payload = {**summary, "alert": alert_kind(summary), "subject": title}
            payload["text"] = f"{title}\n\n{text}"  # what Slack-like webhooks display
            send = _webhook_sender(target, payload)
        elif channel == "email":
            payload = {"to": _address(target), "subject": title, "body": text, "summary": summary}
            send = _email_sender(_address(target), title, text, summary)
        else:
            payload, send = summary, None
            delivery.reason = f"{target!r} is neither an http(s) URL nor an email address"
        if send is not None:
            _try(send, delivery, tries, backoff, deadline, secrets=[password])
        if not delivery.delivered:
            delivery.dead_letter = _dead_letter(
                dead_letter_dir, delivery, _shown(target, whole=True), payload, [password]
            )
        deliveries.append(delivery)
    return deliveries


def _try(send, delivery: Delivery, tries: int, backoff: float, deadline: float, secrets) -> None:
    """Call ``send(timeout)`` until it succeeds, fails for good, or tries or time run out."""
    end, wait = time.monotonic() + deadline, backoff
    for attempt in range(1, max(1, tries) + 1):
        delivery.attempts = attempt
        try:
            send(max(0.1, min(TRY_TIMEOUT, end - time.monotonic())))
            delivery.delivered, delivery.reason = True, ""
            return
        except Exception as err:  # tried again while tries and time are left, unless _Permanent
            delivery.reason = _scrub(_describe(err), secrets)
            if isinstance(err, _Permanent) or attempt == tries or time.monotonic() + wait >= end:
                return
        time.sleep(wait)
        wait *= 2


def _webhook_sender(url: str, payload: dict[str, Any]):
    data = json.dumps(payload, default=str).encode()
    opener = urllib.request.build_opener(_NoRedirect)  # a redirected POST would arrive as a GET
    headers = {"Content-Type": "application/json", "User-Agent": "workbench-notify"}
    parts = urlsplit(url)
    if parts.username is not None:  # urllib sends no user:password@ of a URL: basic auth does
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(login).decode()
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

    def send(timeout: float) -> None:
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        try:
            with opener.open(request, timeout=timeout) as answer:
                answer.read(1024)
        except urllib.error.HTTPError as err:
            again = err.code in (408, 425, 429) or err.code >= 500
            raise _failure(again, f"the webhook answered HTTP {err.code} {err.reason}") from None

    return send


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    redirect_request = lambda *_: None  # noqa: E731 - a 3xx answer is an HTTPError


def _email_sender(to: list[str], title: str, text: str, summary: dict[str, Any]):
    def send(timeout: float) -> None:
        env = _smtp_settings()
        message = EmailMessage(policy=_POLICY)
        message["Subject"] = title
        message["From"] = env["sender"]
        message["To"] = ", ".join(to)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message.set_content(text)
        attached = json.dumps(summary, indent=2, default=str).encode()
        message.add_attachment(attached, "application", "json", filename="summary.json")
        smtp_class = smtplib.SMTP_SSL if env["port"] == 465 else smtplib.SMTP
        try:
            with smtp_class(env["host"], env["port"], timeout=timeout) as smtp:
                if env["starttls"]:
                    smtp.starttls(context=ssl.create_default_context())
                if env["user"]:
                    smtp.login(env["user"], os.environ.get(_SMTP + "PASSWORD", ""))
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:  # 4xx: deferred, tried again
            code = max(code for code, _ in err.recipients.values())
            raise _failure(
                code < 500, f"the SMTP server refused {', '.join(err.recipients)}"
            ) from None
        except smtplib.SMTPResponseException as err:
            error = err.smtp_error
            error = error.decode(errors="replace") if isinstance(error, bytes) else error
            again = 400 <= err.smtp_code < 500
            raise _failure(again, f"the SMTP server answered {err.smtp_code} {error}") from None
        except smtplib.SMTPNotSupportedError as err:
            raise _Permanent(f"the SMTP server does not support this: {err}") from None

    return send


def _smtp_settings() -> dict[str, Any]:
    """The ``WORKBENCH_SMTP_*`` settings; a missing or bad one is a permanent failure naming it."""
    host = os.environ.get(_SMTP + "HOST", "").strip()
    if not host:
        raise _Permanent(
            f"{_SMTP}HOST is not set: set {_SMTP}HOST (and {_SMTP}PORT, {_SMTP}USER, "
            f"{_SMTP}PASSWORD, {_SMTP}FROM, {_SMTP}STARTTLS as needed) to send email alerts"
        )
    starttls = os.environ.get(_SMTP + "STARTTLS", "").strip().lower() in {"1", "true", "yes", "on"}
    port_text = os.environ.get(_SMTP + "PORT", "").strip() or ("587" if starttls else "25")
    try:
        port = int(port_text)
    except ValueError:
        raise _Permanent(f"{_SMTP}PORT={port_text!r} is not a port number") from None
    user = os.environ.get(_SMTP + "USER", "")
    sender = os.environ.get(_SMTP + "FROM", "").strip() or user or "workbench@localhost"
    return dict(host=host, port=port, starttls=starttls, user=user, sender=sender)


def _dead_letter(folder, delivery: Delivery, target: str, payload, secrets) -> str | None:
    """Write the undelivered alert, with the reason, to ``<folder>/<UTC time>-<n>.json``."""
    from workbench._core.results import atomic_write, stamp, utc_now

    try:
        if folder is None:  # the caller names it (the workspace's reports/notify-dead-letter)
            return None
        folder = Path(folder).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        base, n = stamp(), 1
        while (folder / f"{base}-{n}.json").exists():
            n += 1
        letter = {"created_at": utc_now(), **delivery.to_dict(), "target": target}
        letter["payload"] = payload
        text = _scrub(json.dumps(letter, indent=2, default=str), secrets)
        return str(atomic_write(folder / f"{base}-{n}.json", text))
    except Exception:  # the warning says no dead letter could be written
        return None


def _channel(target: str) -> str | None:
    if urlsplit(target).scheme.lower() in ("http", "https") and urlsplit(target).hostname:
        return "webhook"
    addresses = _address(target)
    good = addresses and all(re.fullmatch(r"[^@\s,]+@[^@\s,]+", a) for a in addresses)
    return "email" if good else None


def _address(target: str) -> list[str]:
    text = target[len("mailto:") :] if target.lower().startswith("mailto:") else target
    return [a.strip() for a in text.split("?")[0].split(",") if a.strip()]


def _shown(url: str, whole: bool = False) -> str:
    """A webhook URL without its password; for the console (not ``whole``) also without query
    and without the path past its first part (a webhook's path often is its secret)."""
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    if whole:
        user = f"{parts.username}{':***' if parts.password is not None else ''}@"
        netloc = user + host if parts.username is not None else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    path = parts.path.strip("/").split("/")
    shown = "/" + path[0] + ("/…" if len(path) > 1 else "") if path[0] else ""
    return urlunsplit((parts.scheme, host, shown, "", ""))


def _label(summary: dict[str, Any]) -> str:
    name, version = summary.get("model_name"), summary.get("model_version")
    version, uri = f"v{version}" if version else "", summary.get("model_uri") or ""
    if not name and uri.startswith("models:/"):  # a run that failed before it read the model
        name, sep, version = uri[len("models:/") :].partition("@" if "@" in uri else "/")
        version = f"@{version}" if sep == "@" else f"v{version}" if sep else ""
    if name:  # "credit-risk v3", "credit-risk @champion", "credit-risk"
        return f"{name} {version}".rstrip()
    current = (summary.get("data_ids") or {}).get("current") or summary.get("current")
    return f"data {Path(str(current)).name}" if current else "data"


def _columns(summary: dict[str, Any], shown: int = 6) -> str:
    columns = [str(c) for c in summary.get("drifted_columns") or []]
    more = len(columns) - shown
    return ", ".join(columns[:shown]) + (f" (+{more} more)" if more > 0 else "")


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (no header injection), at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason  # the connection's own error: refused, timed out, unknown host
    own = type(err) in (ConnectionError, _Permanent)  # messages written here say it all
    return _one_line(str(err) if own else f"{type(err).__name__}: {err}", 300)


def _failure(again: bool, text: str) -> Exception:
    """An exception :func:`_try` tries again after (``again``), or one it gives up on."""
    return ConnectionError(text) if again else _Permanent(text)


def _scrub(text: str, secrets) -> str:
    for secret in secrets:
        if secret:  # as given, and as it reads inside JSON text
            for form in {secret, json.dumps(secret)[1:-1]}:
                text = text.replace(form, "***")
    return text
