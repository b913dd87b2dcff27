#!/bin/sh
# Print the Debian mirrors (debian and debian-security URIs) that the
# machine's apt sources name, one a line, in both source formats.  The
# scripts that fetch another release's packages use the same mirrors.
set -eu
{
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        sed -n 's/^URIs:[[:space:]]*//p' "$f" | tr ' \t' '\n\n'
    done
} | grep -E '^[a-z+]+://[^ ]*/debian(-security)?/?$' | sed 's:/$::' | sort -u
