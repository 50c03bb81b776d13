"""Reference implementation of the Python-side policy decision (docs/policy.md, format
pickle-guard/python-policy version 1), stdlib only. The test feeds it a compiled policy
and a list of imports on stdin and compares its decisions with the TypeScript ones.

stdin: {"policy": {...}, "imports": [[module, name, origin], ...]}
stdout: [[allowed, code], ...]   code is "" when allowed
"""
import json
import re
import sys


def is_dunder(seg):
    return len(seg) > 4 and seg.startswith("__") and seg.endswith("__")


def danger(d, module, name):
    def whole(n):
        if n in d["except"]:
            return False
        if n in d["exact"]:
            return True
        for p in d["prefixes"]:
            if p.endswith("_"):
                if n.startswith(p):
                    return True
            elif n == p or n.startswith(p + "."):
                return True
        return False

    if whole(module + "." + name):
        return True
    segs = name.split(".")
    return any(whole(".".join(segs[i:])) for i in range(len(segs) - 1))


def glob_hit(sets, slashed):
    return any(re.fullmatch(g["regex"], slashed) for g in sets["globs"])


def decide(p, module, name, origin):
    full = module + "." + name
    segs = full.split(".")
    getattr_ = origin == "getattr"
    traversal = not getattr_ and "." in name
    dunder = any(is_dunder(s) for s in segs[1:])
    ident = re.compile(p["identifier"])
    globbable = not traversal and not dunder and all(ident.fullmatch(s) for s in segs)
    slashed = full.replace(".", "/")
    deny, allow = p["deny"], p["allow"]
    if full in deny["exact"] or [module, name] in deny["split"] or glob_hit(deny, slashed):
        return False, "global-denied"
    if [module, name] in allow["split"] or (not traversal and full in allow["exact"]):
        return True, ""
    if danger(p["dangerous"], module, name):
        return False, "global-denied"
    if dunder or traversal:
        return False, "attribute-traversal"
    if getattr_:
        cls, _, member = full.rpartition(".")
        if ident.fullmatch(member) and not is_dunder(member) and cls in allow["members"]:
            return True, ""
    if globbable and glob_hit(allow, slashed):
        return True, ""
    return False, "global-not-allowed"


def main():
    data = json.load(sys.stdin)
    p = data["policy"]
    assert p["format"] == "pickle-guard/python-policy" and p["version"] == 1
    out = []
    for module, name, origin in data["imports"]:
        allowed, code = decide(p, module, name, origin)
        out.append([allowed, code])
    json.dump(out, sys.stdout)


main()
