"""The allow-list in the child, read from the JSON that `compilePolicyForPython`
(src/policy/python.ts) writes. Pure data in, decision out.

The decision mirrors `CompiledAllowList.check` (src/policy/allow-list.ts) and the steps
in docs/policy.md ("The Python form"):
  1. deny (exact, module:qualname, or glob over any name) wins;
  2. an exact or module:qualname entry allows;
  3. a known-dangerous name is denied (unless on the `except` list; globs never allow it);
  4. a dunder segment (after the first), then a dotted (attribute-walking) name, is refused;
  5. a `members` entry allows `Class.NAME` from the constrained getattr;
  6. a glob allows a plain name made of ASCII identifier segments, outside the script's
     namespace (`__main__`: its names are whatever the loading script imported);
  7. otherwise not allowed, with the YAML line that would allow it.
A policy that cannot be read or understood refuses everything (fail closed).
"""
import json
import re

FORMAT = "pickle-guard/python-policy"
VERSION = 1
_SUGGESTION_MARK = "If you trust this model, add to the policy's allow list: "
_CACHE_SIZE = 4096
_YAML_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.:]*")
# First module segments no glob allows; used when an export predates `mainNamespaces`.
MAIN_NAMESPACES = ("__main__", "__mp_main__", "__parents_main__")


class Decision(object):
    """Allowed (with the entry), or refused with a finding code, a reason and maybe a suggestion."""

    __slots__ = ("allowed", "code", "reason", "suggestion", "entry")

    def __init__(self, allowed, code=None, reason=None, suggestion=None, entry=None):
        self.allowed = allowed
        self.code = code
        self.reason = reason
        self.suggestion = suggestion
        self.entry = entry

    def message(self):
        """The finding message the Node side writes for the same decision (src/scan/verdict.ts)."""
        if self.suggestion:
            return "%s. %s%s" % (self.reason, _SUGGESTION_MARK, self.suggestion)
        return self.reason


def is_dunder(segment):
    return len(segment) > 4 and segment.startswith("__") and segment.endswith("__")


def yaml_scalar(text):
    return text if _YAML_PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class Sets(object):
    """One side (allow or deny) of the compiled policy."""

    def __init__(self, exact, split, globs, members=()):
        self.exact = frozenset(exact)
        self.split = frozenset(split)
        self.globs = tuple(globs)  # (glob text, compiled regex over the name with '/' for '.')
        self.members = frozenset(members)

    def glob_entry(self, subject):
        for text, regex in self.globs:
            if regex.fullmatch(subject):
                return text
        return None


class Policy(object):
    def __init__(self, source, mode, identifier, allow, deny, dangerous_exact, dangerous_prefixes,
                 dangerous_except=(), broken=None, main_namespaces=MAIN_NAMESPACES):
        self.source = source
        self.mode = mode
        self.identifier = identifier
        self.allow = allow
        self.deny = deny
        self.dangerous_exact = frozenset(dangerous_exact)
        self.dangerous_prefixes = tuple(dangerous_prefixes)
        self.dangerous_except = frozenset(dangerous_except)
        self.main_namespaces = frozenset(main_namespaces)
        # Why the policy could not be used; then every import is refused.
        self.broken = broken
        # Decisions are pure functions of (module, name, origin): remember recent ones.
        self._cache = {}

    # -- the decision --------------------------------------------------------------------

    def check(self, module, name, origin="import"):
        """Decide one import as find_class resolves it (Python-2 names already mapped).
        origin 'getattr': `Class.NAME` derived from a constrained builtins.getattr call."""
        key = (module, name, origin)
        decision = self._cache.get(key)
        if decision is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            decision = self._cache[key] = self._decide(module, name, origin)
        return decision

    def _decide(self, module, name, origin):
        full = module + "." + name
        if self.broken is not None:
            return Decision(False, "global-not-allowed",
                            "%s refused: the pickle-guard policy is unusable (%s)" % (full, self.broken))
        segments = full.split(".")
        getattr_ = origin == "getattr"
        traversal = not getattr_ and "." in name
        # The first segment is a module CPython imports (`__main__`, TorchScript's `__torch__`).
        dunder = any(is_dunder(s) for s in segments[1:])
        globbable = (not traversal and not dunder and segments[0] not in self.main_namespaces
                     and all(self.identifier.fullmatch(s) for s in segments))
        subject = full.replace(".", "/")

        denied = self._denying_entry(full, module, name, subject)
        if denied is not None:
            return Decision(False, "global-denied", '%s is denied by "%s" in %s' % (full, denied, self.source))
        entry = self._exact_entry(full, module, name, traversal)
        if entry is not None:
            return Decision(True, entry=entry)
        danger = self._danger(module, name)
        if danger is not None:
            return Decision(False, "global-denied",
                            "%s is on pickle-guard's known-dangerous list (%s); it is never suggested and "
                            "no glob allows it (policy %s)" % (full, danger, self.source))
        if dunder:
            return Decision(False, "attribute-traversal",
                            "%s + %s reaches a dunder name, which only an exact entry can allow; this is how "
                            "pickle exploits escape allow-lists (policy %s)" % (module, name, self.source))
        if traversal:
            return Decision(False, "attribute-traversal",
                            "%s + %s walks attributes from module %s, which only an exact module:qualname entry "
                            "can allow (policy %s)" % (module, name, module, self.source),
                            suggestion="- " + yaml_scalar(module + ":" + name))
        if getattr_:
            owner, _, member = full.rpartition(".")
            if self.identifier.fullmatch(member) and not is_dunder(member) and owner in self.allow.members:
                return Decision(True, entry=owner)
        if globbable:
            glob = self.allow.glob_entry(subject)
            if glob is not None:
                return Decision(True, entry=glob)
        return Decision(False, "global-not-allowed", "%s is not allowed by %s" % (full, self._described()),
                        suggestion="- " + yaml_scalar(full))

    def _denying_entry(self, full, module, name, subject):
        if full in self.deny.exact:
            return full
        if (module, name) in self.deny.split:
            return module + ":" + name
        return self.deny.glob_entry(subject)

    def _exact_entry(self, full, module, name, traversal):
        if (module, name) in self.allow.split:
            return module + ":" + name
        if not traversal and full in self.allow.exact:
            return full
        return None

    def _dangerous_whole(self, name):
        if name in self.dangerous_except:
            return None
        if name in self.dangerous_exact:
            return name
        for prefix in self.dangerous_prefixes:
            if name.startswith(prefix) if prefix.endswith("_") else (name == prefix or name.startswith(prefix + ".")):
                return prefix + ("**" if prefix.endswith("_") else ".**")
        return None

    def _danger(self, module, name):
        """Dotted tails of the name count too: `numpy` + `os.system` reaches os.system."""
        hit = self._dangerous_whole(module + "." + name)
        if hit is not None:
            return "matches " + hit
        segments = name.split(".")
        for i in range(len(segments) - 1):
            tail = ".".join(segments[i:])
            hit = self._dangerous_whole(tail)
            if hit is not None:
                return "reaches %s: matches %s" % (tail, hit)
        return None

    def _described(self):
        if self.source.startswith("preset:"):
            return ('the built-in %s policy (no pickle-guard.yaml was found; create one with '
                    '"extends: [%s]" and an allow list)' % (self.source, self.source[7:]))
        return "policy " + self.source


def refuse_all(reason, source="(no policy)"):
    empty = Sets((), (), ())
    return Policy(source, "enforce", re.compile(r"(?!)"), empty, empty, (), (), broken=reason)


# -- reading the JSON ----------------------------------------------------------------------

def _strings(value, what):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("%s must be a list of strings" % what)
    return value


def _regex(text, what):
    try:
        return re.compile(text)
    except re.error as err:
        raise ValueError("%s: regex %r does not compile in Python: %s" % (what, text, err))


def _sets(data, what, with_members):
    if not isinstance(data, dict):
        raise ValueError("%s must be an object" % what)
    split = data.get("split")
    if not isinstance(split, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in split):
        raise ValueError("%s.split must be a list of [module, qualname] pairs" % what)
    globs = data.get("globs")
    if not isinstance(globs, list) or not all(
            isinstance(g, dict) and isinstance(g.get("glob"), str) and isinstance(g.get("regex"), str) for g in globs):
        raise ValueError("%s.globs must be a list of {glob, regex}" % what)
    return Sets(
        _strings(data.get("exact"), what + ".exact"),
        [tuple(p) for p in split],
        [(g["glob"], _regex(g["regex"], what + ".globs")) for g in globs],
        _strings(data.get("members"), what + ".members") if with_members else (),
    )


def from_data(data, where):
    """Build the policy from parsed JSON. Raises ValueError on any shape problem."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a %s document" % FORMAT)
    if data.get("version") != VERSION:
        raise ValueError("unsupported version %r (this bootstrap reads %d)" % (data.get("version"), VERSION))
    if data.get("mode") not in ("enforce", "report"):
        raise ValueError("mode must be 'enforce' or 'report'")
    source = data.get("source")
    dangerous = data.get("dangerous")
    if not isinstance(dangerous, dict):
        raise ValueError("dangerous must be an object")
    return Policy(
        source if isinstance(source, str) else where,
        data["mode"],
        _regex(_required_str(data, "identifier"), "identifier"),
        _sets(data.get("allow"), "allow", True),
        _sets(data.get("deny"), "deny", False),
        _strings(dangerous.get("exact"), "dangerous.exact"),
        _strings(dangerous.get("prefixes"), "dangerous.prefixes"),
        # Absent in older exports: no exceptions is the stricter reading.
        _strings(dangerous.get("except", []), "dangerous.except"),
        # Absent in older exports: the built-in list (never fewer than these).
        main_namespaces=MAIN_NAMESPACES + tuple(_strings(data.get("mainNamespaces", []), "mainNamespaces")),
    )


def from_json_text(text, where):
    """Never raises: a policy that cannot be used refuses everything."""
    try:
        return from_data(json.loads(text), where)
    except Exception as err:
        return refuse_all("%s: %s" % (where, err), where)


def from_env_value(value):
    """PICKLE_GUARD_PYTHON_POLICY holds the JSON itself (starts with '{') or a path to a JSON file."""
    if not value:
        return refuse_all("PICKLE_GUARD_PYTHON_POLICY is not set")
    if value.lstrip().startswith("{"):
        return from_json_text(value, "PICKLE_GUARD_PYTHON_POLICY")
    try:
        with open(value, "r", encoding="utf-8") as f:
            text = f.read()
    except Exception as err:
        return refuse_all("cannot read %s: %s" % (value, err), value)
    return from_json_text(text, value)


def _required_str(data, key):
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError("%s must be a non-empty string" % key)
    return value
