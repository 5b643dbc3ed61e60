#!/bin/sh
# Builds nchan 1.3.7 with the patches in scripts/nchan-patches/ as a dynamic module for Debian
# 12's nginx and prints the module's path. Debian 12 ships nchan 1.3.6, which lacks 1.3.7's
# Redis cluster fixes, and both mistake a renamed SPUBLISH for a working one after a cluster
# recovery, abort workers and keep stale slot maps around a failover (docs/nchan-notes.md;
# one patch file per fault family). `make test-cluster` and `make run-cluster` load this build
# (WNC_NCHAN_MODULE, nginx/nginx.conf.in); the single-machine stack keeps Debian's module.
#
#   scripts/nchan-build.sh            build once (about 30 s), then print the cached path
#
# Sources: Debian's archive (the upstream "orig" tarballs of the libnginx-mod-nchan 1.3.7 and
# nginx 1.22.1 source packages; Debian's own patches are not applied), checked by sha256. nginx is Debian's 1.22.1 built --with-compat, so a module configured
# --with-compat against the same nginx source loads into it. The build is cached in
# WNC_CACHE_DIR (default ${XDG_CACHE_HOME:-~/.cache}/wnc); a second run builds nothing.
# WNC_DEBIAN_MIRROR (default http://deb.debian.org/debian) names another mirror.
set -eu

NCHAN_VERSION=1.3.7
NCHAN_TARBALL=libnginx-mod-nchan_1.3.7+dfsg.orig.tar.xz
NCHAN_SHA256=a9a54d29ba2e318423c4ec3328e86ac568a8230afa3a32254ca5000b3bebe928
NGINX_VERSION=1.22.1
NGINX_TARBALL=nginx_1.22.1.orig.tar.gz
NGINX_SHA256=9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
MIRROR=${WNC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${WNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wnc}
PATCHES=$(cd "$(dirname "$0")/nchan-patches" && pwd)
# The cache key names the patches' content: a changed patch builds anew.
PATCH_SUM=$(cat "$PATCHES"/*.patch | sha256sum | cut -c1-12)
OUT=$CACHE/nchan-$NCHAN_VERSION-$PATCH_SUM-nginx-$NGINX_VERSION/ngx_nchan_module.so

if [ -s "$OUT" ]; then echo "$OUT"; exit 0; fi

# The module must match the nginx that loads it: same version, built --with-compat.
v=$(nginx -V 2>&1)
case "$v" in *"nginx/$NGINX_VERSION"*) ;; *) echo "nchan-build: nginx $NGINX_VERSION needed, found: $(nginx -v 2>&1)" >&2; exit 1 ;; esac
case "$v" in *--with-compat*) ;; *) echo "nchan-build: nginx is not built --with-compat" >&2; exit 1 ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wnc-nchan-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fetch() { # tarball directory sha256
  curl -fsS --retry 3 --max-time 300 -o "$WORK/$1" "$MIRROR/pool/main/$2/$1" ||
    { echo "nchan-build: cannot download $MIRROR/pool/main/$2/$1" >&2; exit 1; }
  echo "$3  $WORK/$1" | sha256sum -c --quiet - ||
    { echo "nchan-build: $1 does not match its sha256" >&2; exit 1; }
}
fetch "$NCHAN_TARBALL" libn/libnginx-mod-nchan "$NCHAN_SHA256"
fetch "$NGINX_TARBALL" n/nginx "$NGINX_SHA256"
tar -C "$WORK" -xJf "$WORK/$NCHAN_TARBALL"
tar -C "$WORK" -xzf "$WORK/$NGINX_TARBALL"
for p in "$PATCHES"/*.patch; do
  patch -s -d "$WORK/nchan-$NCHAN_VERSION" -p1 < "$p" || { echo "nchan-build: $p does not apply" >&2; exit 1; }
done

echo "nchan-build: building nchan $NCHAN_VERSION for nginx $NGINX_VERSION in $WORK" >&2
# The options that shape nginx's structures as Debian's build has them (--with-compat pads
# the rest); nchan uses OpenSSL's SHA-1 through nginx, as Debian's binary provides it.
cd "$WORK/nginx-$NGINX_VERSION"
./configure --with-compat --with-debug --with-pcre-jit --with-threads --with-http_ssl_module \
  --with-http_realip_module --with-http_v2_module \
  --add-dynamic-module="$WORK/nchan-$NCHAN_VERSION" > "$WORK/configure.log" 2>&1 ||
  { tail -20 "$WORK/configure.log" >&2; exit 1; }
make -j"$(nproc 2>/dev/null || echo 2)" modules > "$WORK/make.log" 2>&1 ||
  { tail -30 "$WORK/make.log" >&2; exit 1; }
# The module loads into Debian's nginx, or it is not kept.
printf 'load_module %s;\nevents {}\n' "$PWD/objs/ngx_nchan_module.so" > "$WORK/check.conf"
nginx -t -p "$WORK" -c "$WORK/check.conf" -e "$WORK/check.log" > "$WORK/check.out" 2>&1 ||
  { echo "nchan-build: the built module does not load:" >&2; cat "$WORK/check.out" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
cp objs/ngx_nchan_module.so "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
