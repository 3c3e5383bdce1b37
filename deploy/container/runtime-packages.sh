#!/usr/bin/env bash
# runtime-packages.sh BINARY — the Debian packages that hold the shared
# libraries BINARY links (ldd, then dpkg -S), one per line, sorted. The
# Containerfile's runtime stage installs exactly these, so the image carries
# the libraries the build linked and no -dev package. Fails when a library
# belongs to no package (built by hand, or missing).
set -euo pipefail
binary=$1
missing=$(ldd "$binary" | awk '/not found/ {print $1}')
if [ -n "$missing" ]; then
  echo "runtime-packages: $binary needs libraries that are not installed: $missing" >&2
  exit 1
fi
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
  real=$(readlink -f "$lib")
  found=
  # Debian 12 merges /lib into /usr/lib: dpkg knows a file by the path its
  # package shipped, which may be either.
  for path in "$lib" "$real" "/usr${lib#/usr}" "${lib#/usr}" "/usr${real#/usr}" "${real#/usr}"; do
    if pkg=$(dpkg-query -S "$path" 2>/dev/null); then
      pkg=${pkg%%$'\n'*} # the first line: "libfoo1:amd64: /usr/lib/..."
      echo "${pkg%%:*}"
      found=1
      break
    fi
  done
  if [ -z "$found" ]; then
    echo "runtime-packages: no Debian package holds $lib" >&2
    exit 1
  fi
done | sort -u
