#!/usr/bin/env bash
# Stages the root filesystem of the Gatehouse container image (issue 17) in DEST/rootfs: the
# release binary, exactly the shared libraries `ldd` says it loads (and the loader), Debian's CA
# bundle and a non-root user; and DEST/workdir, the empty working directory the Containerfile
# copies to /app owned by that user. The Containerfile copies both as they are, so the image
# holds nothing else: no shell, no package manager, no curl.
#
# Used by scripts/build-image.sh on this machine and by the Containerfile's `builder` stage
# (machines with registry access). Needs ldd (libc-bin) and /etc/ssl/certs/ca-certificates.crt
# (Debian's ca-certificates).
#
# Usage: scripts/image-rootfs.sh BINARY DEST
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BINARY DEST" >&2
    exit 2
fi
binary=$1
dest=$2
# The image's user; numeric so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
uid=10001
gid=10001
bundle=/etc/ssl/certs/ca-certificates.crt

[[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }
[[ -s $bundle ]] || { echo "$bundle is missing: apt-get install ca-certificates" >&2; exit 1; }
[[ ! -e $dest ]] || { echo "$dest exists; remove it first" >&2; exit 1; }

mkdir -p "$dest/workdir"
chmod 0755 "$dest/workdir"
root=$dest/rootfs
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp"
install -m 0755 "$binary" "$root/usr/local/bin/gatehouse"

# Every library the dynamic loader resolves, and the loader itself, at the path the binary
# names (symlinks followed, so the image needs no /lib -> usr/lib merge).
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if [[ -z $libraries ]]; then
    echo "ldd names no libraries for $binary (a static binary needs no staging of them)" >&2
    exit 1
fi
for library in $libraries; do
    mkdir -p "$root$(dirname "$library")"
    cp -L "$library" "$root$library"
done
if ldd "$binary" | grep -q "not found"; then
    echo "ldd cannot resolve every library of $binary:" >&2
    ldd "$binary" >&2
    exit 1
fi

# TLS to PostgreSQL (sslmode=verify-full) and SMTP trusts this bundle; operators add a private CA
# by mounting their own bundle over it or pointing SSL_CERT_FILE at one.
install -m 0644 "$bundle" "$root/etc/ssl/certs/ca-certificates.crt"

# Name resolution from /etc/hosts, then DNS (compose's `db`): glibc >= 2.34 has both built in, so
# no libnss_* module is needed. The container engine supplies /etc/hosts and /etc/resolv.conf.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/sbin/nologin\ngatehouse:x:%s:%s:Gatehouse:/app:/sbin/nologin\n' \
    "$uid" "$gid" >"$root/etc/passwd"
printf 'root:x:0:\ngatehouse:x:%s:\n' "$gid" >"$root/etc/group"
chmod 0644 "$root/etc/nsswitch.conf" "$root/etc/passwd" "$root/etc/group"
chmod 1777 "$root/tmp"
echo "staged $(du -sh "$root" | cut -f1) in $root:" $libraries
