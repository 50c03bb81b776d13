"""Records every global in the data.pkl torch.save writes for a whole-model pickle of each
stock torch.nn layer, using Debian's python3 with torch. torch.save writes protocol 2,
so every import is a GLOBAL opcode, read here with pickletools (nothing is unpickled):

    /usr/bin/python3 test/policy/gen_torch_globals.py > test/policy/fixtures/torch-layer-globals.txt

The test checks the pytorch/default preset accepts every recorded name.
"""
import io
import warnings

warnings.simplefilter("ignore")
import torch
import torch.nn as nn

import pickletools
import zipfile

seen = set()


def record(buf):
    with zipfile.ZipFile(buf) as z:
        for member in z.namelist():
            if member.endswith("data.pkl"):
                for op, arg, _ in pickletools.genops(z.read(member)):
                    if op.name == "GLOBAL":
                        seen.add(arg.replace(" ", "."))


ARGS = [(), (4,), (4, 4), (4, 4, 3), (4, 2), ((2, 2),), (1, (2, 2))]
saved = 0
# Unmaterialized Lazy* modules pickle a bound-method hook as getattr(<instance>, name),
# which pickle-guard blocks by design; once materialized they become the regular class.
names = sorted(n for n in dir(nn) if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)
               and not n.startswith("Lazy"))
for n in names:
    cls = getattr(nn, n)
    for args in ARGS:
        try:
            layer = cls(*args)
            break
        except Exception:
            layer = None
    if layer is None:
        continue
    buf = io.BytesIO()
    try:
        torch.save(layer, buf)
    except Exception:
        continue
    buf.seek(0)
    record(buf)
    saved += 1
print("# torch %s: %d torch.nn layer classes saved whole" % (torch.__version__, saved))
for name in sorted(seen):
    print(name)
