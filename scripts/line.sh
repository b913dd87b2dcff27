# Sourced by the scripts, after they set $top: the line they work on
# (BASE, default debian12), its settings from scripts/lines/$BASE.conf,
# and its series folder, PATCH_DIR=patches/$BASE.
LINE=${BASE:-debian12}
if [ ! -f "$top/scripts/lines/$LINE.conf" ]; then
    echo "error: BASE=$LINE is no line of this repository (lines:" \
         "$(cd "$top/scripts/lines" && ls -- *.conf | sed 's/\.conf$//' | tr '\n' ' '))" >&2
    exit 2
fi
. "$top/scripts/lines/$LINE.conf"
PATCH_DIR=$top/patches/$LINE
