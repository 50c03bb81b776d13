# Regenerates the two example models with the standard library only:
#   python3 examples/models/make_models.py
# benign.pkl     a tiny "state dict" (collections.OrderedDict of float lists), protocol 2
# malicious.pkl  an object whose __reduce__ makes pickle.load call os.system, protocol 4
#                (on Linux os.system pickles as posix.system). Never load it.
import collections
import os
import pickle

HERE = os.path.dirname(os.path.abspath(__file__))


class Payload:
    def __reduce__(self):
        return (os.system, ("echo 'this ran because malicious.pkl was unpickled'",))


def main():
    state = collections.OrderedDict([("fc.weight", [[0.25, -0.5], [1.0, 0.75]]), ("fc.bias", [0.1, -0.1])])
    with open(os.path.join(HERE, "benign.pkl"), "wb") as f:
        pickle.dump(state, f, protocol=2)
    with open(os.path.join(HERE, "malicious.pkl"), "wb") as f:
        pickle.dump({"fc.weight": [[0.25]], "hook": Payload()}, f, protocol=4)


if __name__ == "__main__":
    main()
