#!/bin/bash
# Build the patched QEMU tree as a git repository: the Debian base as one
# commit (tag "base"), then one commit per entry of patches/$BASE/series.
#   scripts/apply-series.sh UNPACKED_DEBIAN_TREE GIT_TREE
#
# A patch file is a mail-style header (From:, Subject:, body) followed by a
# unified diff.  "Adds: FOLDER/FILE" lines in the header name new files
# that live whole in this repository and are copied in with that patch,
# final: no other patch may touch them (the diffs edit QEMU's own files):
#   hw-display/X   -> hw/display/X
#   include-hw/X   -> include/hw/X
#   tests-qtest/X  -> tests/qtest/X
# Any fuzz or reject fails, naming the patch and the hunk.
#
# The series is applied in a separate worktree; GIT_TREE is then moved to
# the result with "git reset --hard", which rewrites only the files whose
# content changed, so an incremental build recompiles only what changed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/line.sh"
. "$top/scripts/paths.sh"
base=$(realpath "$1")
tree=$(realpath -m "$2")

die() { echo "apply-series: error: $*" >&2; exit 1; }

git_q() { git -C "$tree" -c user.name=series -c user.email=series@localhost "$@"; }

if ! git -C "$tree" rev-parse -q --verify base >/dev/null 2>&1; then
    rm -rf "$tree"
    mkdir -p "$tree"
    echo "apply-series: importing the Debian base into $tree"
    (cd "$base" && tar --exclude=./.pc -cf - .) | tar -C "$tree" -xf -
    git_q init -q -b main
    git_q config gc.auto 0
    printf '/build/\n/.pc/\n' >> "$tree/.git/info/exclude"
    git_q add -A -f .
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
        git_q commit -q -m "Debian qemu $(cat "$base/../.version" 2>/dev/null || echo base)"
    git_q tag base
fi

stage="$tree.stage"
if [ ! -e "$stage/.git" ]; then
    rm -rf "$stage"
    git_q worktree prune
    git_q worktree add -q -f --detach "$stage" base
fi
git_st() { git -C "$stage" -c user.name=series -c user.email=series@localhost "$@"; }
git_st checkout -q --detach base
git_st reset -q --hard base
git_st clean -q -fdx

n=0
while read -r name _; do
    case "$name" in ''|'#'*) continue ;; esac
    p="$PATCH_DIR/$name"
    [ -f "$p" ] || die "patches/$LINE/series names $name, but it does not exist"
    n=$((n + 1))

    # Header: everything before the first line that is exactly "---".
    header=$(sed '/^---$/,$d' "$p")
    author=$(sed -n 's/^From: //p' <<<"$header" | head -n 1)
    subject=$(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\?//p' <<<"$header" | head -n 1)
    [ -n "$subject" ] || die "$name: no Subject: line"
    [ -n "$author" ] || die "$name: no From: line"
    body=$(sed -e '1,/^$/d' <<<"$header" | grep -v '^Adds: ' || true)

    for f in $(sed -n 's/^Adds: //p' <<<"$header"); do
        dst=$(tree_path "$f") || die "$name: Adds: $f is not under hw-display/, include-hw/ or tests-qtest/"
        [ -f "$top/$f" ] || die "$name: Adds: $f, which does not exist"
        [ ! -e "$stage/$dst" ] || die "$name: Adds: $f, but $dst already exists in the tree"
        mkdir -p "$(dirname "$stage/$dst")"
        cp "$top/$f" "$stage/$dst"
    done

    # A new file is whole and final: no patch's diff may touch it.
    for f in $(sed -n 's|^+++ b/||p; s|^--- a/||p' "$p" | sort -u); do
        r=$(repo_path "$f") || continue
        [ ! -f "$top/$r" ] ||
            die "$name edits $f, a new file of this repository: change $r itself"
    done

    if ! out=$(cd "$stage" && patch -p1 -N -s --fuzz=0 --no-backup-if-mismatch -r - <"$p" 2>&1); then
        echo "$out" >&2
        die "patch $name does not apply (see the hunk named above)"
    fi
    if grep -q 'with fuzz\|FAILED\|Reversed' <<<"$out"; then
        echo "$out" >&2
        die "patch $name applies only with fuzz"
    fi
    git_st add -A .
    GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z" \
        git_st commit -q --allow-empty --author="$author" -F - <<<"$subject

$body"
done < "$PATCH_DIR/series"

# ... and every new file of this repository is added by a patch of the
# line, once the line is more than a port in progress.
for f in $(cd "$top" && find hw-display include-hw tests-qtest -type f | sort); do
    [ -e "$stage/$(tree_path "$f")" ] ||
        die "$f is added by no patch of patches/$LINE (name it in an Adds: line)"
done

git_q checkout -q -B main "$(git_st rev-parse HEAD)"
git_q reset -q --hard main
echo "apply-series: applied $n patches of $LINE onto base"
