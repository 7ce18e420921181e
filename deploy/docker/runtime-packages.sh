#!/usr/bin/env bash
# deploy/docker/runtime-packages.sh BINARY... — the Debian packages that provide the
# shared libraries the binaries link against directly (their DT_NEEDED entries), one per
# line, sorted. The Docker image's runtime stage installs exactly these, so it gets the
# runtime libraries (libevent-2.1-7, libssl3, …) and never a -dev package, and a library
# added to the link line reaches the image without editing a list. Needs ldd, readelf
# (binutils) and dpkg: run it where the binaries were built.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }

# dpkg records a file under the path its package ships, which on a merged-/usr system
# may differ from the path ld.so found (/lib/x86_64-linux-gnu vs /usr/lib/…).
package_of() {
    local path=$1 candidate out
    for candidate in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
        [ -n "$candidate" ] || continue
        if out=$(dpkg-query -S "$candidate" 2>/dev/null); then
            out=${out%%: *}     # "libz1:amd64, lib32z1: /path" → first package
            out=${out%%,*}
            echo "${out%%:*}"
            return 0
        fi
    done
    return 1
}

packages_of_binary() {
    local bin=$1 soname path resolved
    [ -f "$bin" ] || { echo "$0: no such file: $bin" >&2; return 1; }
    resolved=$(ldd "$bin") || { echo "$0: ldd failed on $bin" >&2; return 1; }
    readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | while read -r soname; do
        path=$(awk -v s="$soname" '$1 == s && $2 == "=>" { print $3; exit }' <<<"$resolved")
        if [ -z "$path" ] || [ "$path" = "not" ]; then
            echo "$0: $bin: $soname not found" >&2
            return 1
        fi
        package_of "$path" || { echo "$0: $bin: no package owns $path" >&2; return 1; }
    done
}

for bin in "$@"; do packages_of_binary "$bin"; done | sort -u
