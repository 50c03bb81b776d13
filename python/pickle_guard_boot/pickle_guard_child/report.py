"""What happens on a violation: a report line for the Node parent, then raise (enforce)
or a warning on stderr (report mode)."""
import json
import os
import pickle
import sys


class PickleGuardViolation(pickle.UnpicklingError):
    """Raised in the child when a pickle needs something the policy does not allow."""

    def __init__(self, code, module, name, reason, message, file=None):
        self.code = code
        self.module = module
        self.name = name
        self.reason = reason
        self.file = file
        self.detail = message
        where = " in %s" % file if file else ""
        super(PickleGuardViolation, self).__init__(
            "pickle-guard blocked %s.%s%s [%s] %s" % (module, name, where, code, message))

    def __reduce__(self):
        # Rebuild from the fields (the default would call __init__ with the message only).
        return (type(self), (self.code, self.module, self.name, self.reason, self.detail, self.file))


class Reporter(object):
    def __init__(self, report_path, mode):
        self.report_path = report_path or None
        self.mode = mode

    def write(self, record):
        """Append one JSON line. One os.write on an O_APPEND fd, so concurrent children do not interleave."""
        if self.report_path is None:
            return
        line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
        try:
            fd = os.open(self.report_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as err:
            sys.stderr.write("pickle-guard: cannot write report %s: %s\n" % (self.report_path, err))

    def violation(self, code, module, name, reason, message, file=None):
        """Record a refused import. Raises in enforce mode; returns in report mode."""
        record = {"kind": "violation", "code": code, "module": module, "name": name,
                  "reason": reason, "message": message, "mode": self.mode, "pid": os.getpid()}
        if file:
            record["file"] = file
        self.write(record)
        error = PickleGuardViolation(code, module, name, reason, message, file)
        if self.mode == "report":
            sys.stderr.write("pickle-guard (report mode, not blocked): %s\n" % error)
            return
        raise error
