"""Records every global find_class sees when unpickling each scikit-learn estimator,
fitted on a tiny data set (run with Debian's python3, which has sklearn):

    /usr/bin/python3 test/policy/gen_sklearn_globals.py > test/policy/fixtures/sklearn-estimator-globals.txt

The test checks the sklearn preset accepts every recorded name.
"""
import io
import pickle
import warnings

warnings.simplefilter("ignore")
import numpy as np
import sklearn
from sklearn.utils import all_estimators

X = np.random.RandomState(0).rand(40, 4)
y = (X[:, 0] > 0.5).astype(int)
yr = X[:, 1]
seen = set()


class Recorder(pickle.Unpickler):
    def find_class(self, module, name):
        seen.add("%s.%s" % (module, name))
        return super().find_class(module, name)


pickled = 0
for _, cls in all_estimators():
    try:
        est = cls()
    except Exception:
        continue  # needs constructor arguments (meta-estimators)
    for target in (y, yr, None):
        try:
            est.fit(X, target) if target is not None else est.fit(X)
            break
        except Exception:
            continue
    try:
        Recorder(io.BytesIO(pickle.dumps(est, protocol=4))).load()
        pickled += 1
    except Exception:
        pass
print("# scikit-learn %s, numpy %s: %d estimators pickled and loaded" % (sklearn.__version__, np.__version__, pickled))
for name in sorted(seen):
    print(name)
