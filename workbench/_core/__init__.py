"""Shared pieces of the workbench, one of each. Private: stage packages import these modules, users
do not.

* :mod:`~workbench._core.refs`      one parser/resolver of model references (``models:/name/3``,
  ``models:/name@alias``, ``models:/m-<id>``, ``runs:/...``, a path)
* :mod:`~workbench._core.tasks`     classification or regression, predictions and metrics
* :mod:`~workbench._core.names`     every tag, artifact file and experiment name the workbench writes
* :mod:`~workbench._core.process`   a managed child process: own session, log, ready wait, stop family
* :mod:`~workbench._core.results`   the result protocol (to_dict, atomic save, load, log, HTML)
* :mod:`~workbench._core.progress`  one progress callback type and its tqdm adapter
* :mod:`~workbench._core.profile`   the training profile and reference predictions kept with a version
* :mod:`~workbench._core.text`      small text and identity helpers (first line, user, git commit)
* :mod:`~workbench._core.gcpause`   the garbage collector paused over imports and a model's load

Layering: ``_core`` imports only :mod:`workbench.errors` (and the libraries); everything else may
import ``_core``.
"""
