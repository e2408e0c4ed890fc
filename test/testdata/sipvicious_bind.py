"""Runs a sipvicious tool (svwar, svcrack, svmap) with its -b/--bindingip
honoured.

sipvicious 0.3.3 parses -b, but svwar and svcrack never hand it to the
scanner they build: they bind 0.0.0.0 and on loopback their packets leave
from 127.0.0.1, so a ban would hit every other peer of a test. This wrapper
passes the parsed address on to the scanner's constructor, then runs the
tool's own main, otherwise unchanged.

Usage: python3 sipvicious_bind.py <path of svwar|svcrack|svmap> [its arguments]
"""
import importlib
import os
import sys

SCANNERS = {"svwar": "TakeASip", "svcrack": "ASipOfRedWine", "svmap": "DrinkOrSip"}


def binding_ip(argv):
    for i, a in enumerate(argv):
        if a in ("-b", "--bindingip") and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--bindingip="):
            return a.split("=", 1)[1]
        if a.startswith("-b") and len(a) > 2:
            return a[2:]
    return ""


def main():
    script = os.path.realpath(sys.argv[1])
    tool = os.path.basename(script).replace("sipvicious_", "")
    # The Debian scripts find the package beside themselves.
    sys.path.insert(0, os.path.dirname(script))
    module = importlib.import_module("sipvicious." + tool)
    scanner = getattr(module, SCANNERS[tool])
    ip = binding_ip(sys.argv[2:])
    if ip:
        init = scanner.__init__

        def bound_init(self, *args, **kwargs):
            kwargs.setdefault("bindingip", ip)
            init(self, *args, **kwargs)

        scanner.__init__ = bound_init
    sys.argv = [tool] + sys.argv[2:]
    return module.main()


if __name__ == "__main__":
    sys.exit(main())
