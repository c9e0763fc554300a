# PYTHON_ARGCOMPLETE_OK  (argcomplete's completion of `python -m workbench.cli` looks for it)
"""``python -m workbench.cli``: the ``workbench`` command."""

from workbench.cli import console

if __name__ == "__main__":  # not when a worker process (spawn) imports it
    console()
