#!/usr/bin/env python3
"""Count TAP results in a meson testlog.json and in further TAP files;
print 'N passed, N failed'.

A test program that produced no TAP result but failed counts as one
failure, so a crash is never lost.  Exits 1 on any failure or when
nothing ran at all.
"""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        ok = nok = 0
        for tap in t.get("stdout", "").splitlines():
            if re.match(r"not ok\b", tap):
                nok += 1
            elif re.match(r"ok\b", tap):
                if re.search(r"#\s*SKIP", tap, re.I):
                    skipped += 1
                else:
                    ok += 1
        if t.get("result") not in ("OK", "EXPECTEDFAIL") and nok == 0:
            nok = 1
            print("FAILED without a TAP failure: %s (%s)" % (t.get("name"), t.get("result")))
        passed += ok
        failed += nok

for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        lines = []
    if not lines:
        print("FAILED: no results in %s" % path)
        failed += 1
    for tap in lines:
        if re.match(r"not ok\b", tap):
            failed += 1
        elif re.match(r"ok\b", tap):
            passed += 1

if skipped:
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
else:
    print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or passed == 0 else 0)
