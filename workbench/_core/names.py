"""Every name the workbench writes into MLflow: tags, artifact files, experiments.

The gate's contract lives here: ``log_model`` writes the task and target tags, ``run_checks`` writes
the checks status tags that ``promote`` reads, the audit experiment keeps promotions and rollbacks.
Change a name here and every stage follows.
"""

from __future__ import annotations

__all__ = [
    "ABTEST_RUN_TAG",
    "ABTEST_SHA_TAG",
    "ABTEST_VERDICT_TAG",
    "AUDIT_EXPERIMENT",
    "AUDIT_HEAD_TAG",
    "AUDIT_PREFIX",
    "CHECKS_DIGEST_TAG",
    "CHECKS_FAILED_TAG",
    "CHECKS_RUN_TAG",
    "CHECKS_SHA_TAG",
    "CHECKS_STATUS_TAG",
    "KEY_TAG_PREFIX",
    "MONITORING_EXPERIMENT_PREFIX",
    "SERVER_CHECKS_EXPERIMENT",
    "ARTIFACT",
    "TAG",
]

#: Experiment that holds the audit log: one run per promotion or rollback, never overwritten.
AUDIT_EXPERIMENT = "workbench-audit"
#: Prefix of the audit entry's tags (``workbench.audit.by``, ...).
AUDIT_PREFIX = "workbench.audit."
#: Tag on the registered model holding ``seq:hash`` of the audit log's last entry (the chain head).
AUDIT_HEAD_TAG = "workbench.audit.head"
#: Tag prefix on the audit experiment of a shared store: ``workbench.key.<key id>`` holds a signing
#: key's public registry line (``<key id> ed25519 <base64> <user>``), for teammates to pin.
KEY_TAG_PREFIX = "workbench.key."
#: Experiment of the check runs a workbench team server ran itself (the only ones that count there).
SERVER_CHECKS_EXPERIMENT = "workbench-server-checks"
#: Monitoring runs go to ``monitoring/<model name>`` (``monitoring/data`` without a model).
MONITORING_EXPERIMENT_PREFIX = "monitoring/"


class TAG:
    """Tag keys on runs and model versions."""

    VERSION = "workbench.version"
    USER = "workbench.user"
    TASK = "workbench.task"
    TARGET = "workbench.target"
    EVAL_ON = "workbench.eval_on"
    GIT_COMMIT = "workbench.git_commit"
    ERROR = "workbench.error"
    FAMILY = "workbench.family"
    DROPPED_COLUMNS = "workbench.dropped_columns"
    KIND = "workbench.kind"
    MODEL = "workbench.model"
    MODEL_URI = "workbench.model_uri"
    MODEL_NAME = "workbench.model_name"
    MODEL_VERSION = "workbench.model_version"
    CHAMPION_VERSION = "workbench.champion_version"
    STATUS = "workbench.status"
    DRIFTED_COLUMNS = "workbench.drifted_columns"
    REASONS = "workbench.reasons"
    DATA_CURRENT = "workbench.data.current"
    RETRAIN_REQUESTED = "workbench.retrain_requested"
    RETRAIN_REASON = "workbench.retrain_reason"
    #: Why the label-free performance estimate of a monitoring run is withheld or flagged.
    ESTIMATE_NOTE = "workbench.estimate_note"
    POSITIVE_LABEL = "workbench.positive_label"
    #: ``macro`` on a multiclass version: its precision, recall, F1 and ROC AUC are averages
    #: over the classes (the metric keys stay ``precision``...).
    METRIC_AVERAGE = "workbench.metric_average"
    TRUSTED_TYPES = "workbench.trusted_types"
    ALLOW_PICKLE = "workbench.allow_pickle"
    #: SHA-256 over the model folder's files, as logged (:mod:`workbench.registry.digest`).
    DIGEST = "workbench.artifact.digest"


#: The gate's tags on a model version, written by ``run_checks`` and read by ``promote``.
CHECKS_STATUS_TAG = "workbench.checks.status"
CHECKS_FAILED_TAG = "workbench.checks.failed"
CHECKS_RUN_TAG = "workbench.checks.run_id"
#: SHA-256 of the check run's whole ``checks.json``: an edited report no longer matches it.
CHECKS_SHA_TAG = "workbench.checks.sha256"
#: The artifact digest the check run judged (on the check run and on the version).
CHECKS_DIGEST_TAG = "workbench.checks.digest"

#: The A/B test evidence on a challenger version, written by ``record_abtest`` and read by the
#: gate when its policy requires an A/B verdict (:mod:`workbench.registry.evidence`).
ABTEST_RUN_TAG = "workbench.abtest.run_id"
#: SHA-256 of the A/B test run's whole ``abtest.json`` (on the run and on the version).
ABTEST_SHA_TAG = "workbench.abtest.sha"
#: The verdict as the A/B test worded it: shown, never judged (the gate reads the numbers).
ABTEST_VERDICT_TAG = "workbench.abtest.verdict"


class ARTIFACT:
    """Artifact file names written with runs and saved results."""

    PROFILE = "profile.json"
    CONTRACT = "contract.json"
    REFERENCE = "reference.json"
    CHECKS_JSON = "checks.json"
    CHECKS_HTML = "checks.html"
    MODEL_CARD_MD = "model_card.md"
    MODEL_CARD_HTML = "model_card.html"
    REPORT_HTML = "report.html"
    REPORT_JSON = "report.json"
    SUMMARY_JSON = "summary.json"
    LOAD_TEST_JSON = "load_test.json"
    COMPARISON_JSON = "comparison.json"
    ABTEST_JSON = "abtest.json"
