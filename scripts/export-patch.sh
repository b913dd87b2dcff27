#!/bin/bash
# Developer helper: turn one commit of a working tree of the patched QEMU
# (for example build/debian12/dev, a worktree of build/debian12/qemu) into
# patches/$BASE/NAME.  Files the commit adds under hw/display/,
# include/hw/ or tests/qtest/ are copied whole into hw-display/,
# include-hw/ or tests-qtest/ and named by "Adds:" lines; everything else
# becomes the patch's diff.  A commit that changes a file an earlier
# patch added is refused: new files are final, edit them here.
#   scripts/export-patch.sh TREE COMMIT NAME.patch
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/line.sh"
. "$top/scripts/paths.sh"
tree=$1 commit=$2 name=$3
# a fixed abbreviation keeps the exported index lines stable
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.abbrev GIT_CONFIG_VALUE_0=8

adds=() excludes=()
while read -r f; do
    if dst=$(repo_path "$f"); then
        mkdir -p "$top/$(dirname "$dst")"
        git -C "$tree" show "$commit:$f" > "$top/$dst"
        adds+=("$dst")
        excludes+=(":(exclude)$f")
    fi
done < <(git -C "$tree" diff-tree --no-commit-id --name-only -r --diff-filter=A "$commit")

while read -r f; do
    if dst=$(repo_path "$f") && [ -f "$top/$dst" ]; then
        echo "export-patch: $commit changes $f, a new file: edit $dst instead" >&2
        exit 1
    fi
done < <(git -C "$tree" diff-tree --no-commit-id --name-only -r --diff-filter=MD "$commit")

{
    git -C "$tree" log -1 --format='From: %an <%ae>%nSubject: [PATCH] %s%n%n%b' "$commit" |
        sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
    for a in "${adds[@]}"; do echo "Adds: $a"; done
    echo "---"
    git -C "$tree" diff --stat=72 "$commit^" "$commit" -- . "${excludes[@]}"
    echo
    git -C "$tree" diff --no-renames "$commit^" "$commit" -- . "${excludes[@]}"
} > "$PATCH_DIR/$name"
grep -qxF "$name" "$PATCH_DIR/series" 2>/dev/null || echo "$name" >> "$PATCH_DIR/series"
echo "wrote patches/$LINE/$name${adds:+ (adds ${adds[*]})}"
