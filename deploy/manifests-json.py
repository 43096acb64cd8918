#!/usr/bin/python3
"""manifests-json.py FILE... — every YAML document of the given files as one JSON list
[{"file", "index", "obj"}] on stdout, the input of deploy/validate-manifests.mjs (node has no
YAML parser; python3-yaml is Debian's). Empty documents are skipped."""
import json
import sys

import yaml

out = []
for f in sys.argv[1:]:
    with open(f) as fh:
        for i, doc in enumerate(yaml.safe_load_all(fh)):
            if doc is not None:
                out.append({"file": f, "index": i, "obj": doc})
json.dump(out, sys.stdout)
