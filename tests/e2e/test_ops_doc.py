"""test_ops_doc.py — docs/ops.md is generated from the op table (tools/list_ops.py) and must be
up to date with src/engine/kernels/*.def; the generator must see every TD_OP row of every .def
that src/engine/ops.c includes (in both of its include lists). No binary needed.
"""

import os
import re
import subprocess
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "tools"))
import list_ops  # noqa: E402


def test_docs_ops_md_is_up_to_date():
    r = subprocess.run([sys.executable, os.path.join(REPO, "tools", "list_ops.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr + "(regenerate with: /usr/bin/python3 tools/list_ops.py)"


def test_generator_sees_every_row():
    families = list_ops.def_files()
    on_disk = sorted(f[:-4] for f in os.listdir(os.path.join(REPO, "src", "engine", "kernels")) if f.endswith(".def"))
    assert sorted(families) == on_disk, "a .def file is not included by src/engine/ops.c (or vice versa)"
    ops_c = list_ops.COMMENT.sub("", open(list_ops.OPS_C).read())
    for fam in families:  # both include lists (declarations and table) name every family
        assert ops_c.count('#include "engine/kernels/%s.def"' % fam) == 2, fam
    rows = list_ops.rows()
    expected = 0
    for fam in families:
        text = list_ops.COMMENT.sub("", open(os.path.join(REPO, "src", "engine", "kernels", fam + ".def")).read())
        expected += len(re.findall(r"\bTD_OP\(", text))
    assert len(rows) == expected
    names = [r["op"] for r in rows]
    assert len(names) == len(set(names)), "duplicate op rows: %s" % sorted({n for n in names if names.count(n) > 1})
    doc = open(list_ops.DOC).read()
    for n in names:
        assert "\n| %s |" % n in doc, n
