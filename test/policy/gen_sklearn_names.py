"""Lists scikit-learn estimator classes by exact module.qualname (run with Debian's python3).

Used once to draft policies/sklearn.yaml; each kept line was reviewed by hand.
Usage: /usr/bin/python3 test/policy/gen_sklearn_names.py
"""
import warnings

warnings.simplefilter("ignore")
import sklearn
from sklearn.utils import all_estimators

print(f"# scikit-learn {sklearn.__version__}")
for name, cls in sorted(all_estimators(), key=lambda p: (p[1].__module__, p[0])):
    print(f"{cls.__module__}.{cls.__qualname__}")
