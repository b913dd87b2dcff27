# Sourced by the scripts: where a new file of this repository lives in
# QEMU's tree, and back.  The one place that knows the three folders.
#   tree_path hw-display/X   -> hw/display/X   (1 if not a new-file path)
#   repo_path hw/display/X   -> hw-display/X   (1 if not a new-file path)
tree_path() {
    case "$1" in
    hw-display/*)  echo "hw/display/${1#hw-display/}" ;;
    include-hw/*)  echo "include/hw/${1#include-hw/}" ;;
    tests-qtest/*) echo "tests/qtest/${1#tests-qtest/}" ;;
    *) return 1 ;;
    esac
}

repo_path() {
    case "$1" in
    hw/display/*)  echo "hw-display/${1#hw/display/}" ;;
    include/hw/*)  echo "include-hw/${1#include/hw/}" ;;
    tests/qtest/*) echo "tests-qtest/${1#tests/qtest/}" ;;
    *) return 1 ;;
    esac
}
