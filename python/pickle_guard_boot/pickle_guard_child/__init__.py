"""pickle-guard inside a Python child: the same allow-list, enforced in find_class.

Activated by the `sitecustomize` next to this package (see docs/python.md).
"""
import os

from . import hook, policy, report

__all__ = ["activate", "PickleGuardViolation"]

PickleGuardViolation = report.PickleGuardViolation
_active = False


def activate(environ=None):
    """Install the enforcing unpicklers once. Returns the policy in force."""
    global _active
    environ = os.environ if environ is None else environ
    compiled = policy.from_env_value(environ.get("PICKLE_GUARD_PYTHON_POLICY"))
    reporter = report.Reporter(environ.get("PICKLE_GUARD_PYTHON_REPORT"), compiled.mode)
    if not _active:
        hook.install(compiled, reporter)
        _active = True
    return compiled
