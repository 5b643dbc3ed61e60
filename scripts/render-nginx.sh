#!/bin/sh
# Renders an nginx template (the @...@ markers) on stdout. Installed as wnc-render-nginx by
# `make install`; scripts/stack.sh and tests/bench/floor.sh run it from the tree.
#
#   wnc-render-nginx [--env FILE] [--listen ADDR] [--run-dir DIR] [TEMPLATE] > wnc.conf
#
# Without TEMPLATE it renders the Watch N Chill site (wnc-site.conf.in), for inclusion in an
# `http {}` block, from the installation it belongs to ($PREFIX/share/wnc beside its bin/, or
# the source tree's nginx/ and web/). Values come from the environment (the names match the
# markers), then from the options:
#   --env FILE     read WNC_* variables from FILE (/etc/wnc/wnc.env, as the daemons do), so that
#                  the site follows WNC_WORKERS, WNC_GRACE_MS, WNC_TRUSTED_PROXIES, WNC_WS_PING_S,
#                  WNC_FCGI_QUEUE, WNC_NCHAN_REDIS and WNC_NGINX_* as the daemons see them
#   --listen ADDR  nginx's `listen` for the public server (LISTEN; default 80)
#   --run-dir DIR  where fcgi.sock and publish.sock are (RUN_DIR; default /run/wnc, the
#                  directory of wnc-fcgi.socket's ListenStream=)
# Other variables: WEB_ROOT, CONF_DIR (the directory of wnc-fastcgi.conf and wnc-headers.conf),
# ACCESS_LOG, ERROR_LOG (default /var/log/nginx/wnc-access.log, wnc-error.log), WNC_SHARE_DIR
# (where the installed files are).
set -eu
usage() {
  sed -n '4,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --env) [ $# -ge 2 ] || usage; set -a; . "$2"; set +a; shift 2 ;;
    --env=*) set -a; . "${1#--env=}"; set +a; shift ;;
    --listen) [ $# -ge 2 ] || usage; LISTEN=$2; shift 2 ;;
    --listen=*) LISTEN=${1#--listen=}; shift ;;
    --run-dir) [ $# -ge 2 ] || usage; RUN_DIR=$2; shift 2 ;;
    --run-dir=*) RUN_DIR=${1#--run-dir=}; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "render-nginx: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -le 1 ] || usage

# The installed files: $PREFIX/share/wnc beside $PREFIX/bin, or the source tree.
HERE=$(dirname "$(readlink -f "$0")")
if [ -n "${WNC_SHARE_DIR:-}" ]; then
  NGINX_FILES=$WNC_SHARE_DIR/nginx WEB_FILES=$WNC_SHARE_DIR/web
elif [ -d "$HERE/../share/wnc/nginx" ]; then
  NGINX_FILES=$(cd "$HERE/../share/wnc" && pwd)/nginx WEB_FILES=$(cd "$HERE/../share/wnc" && pwd)/web
else
  NGINX_FILES=$(cd "$HERE/.." && pwd)/nginx WEB_FILES=$(cd "$HERE/.." && pwd)/web
fi
TEMPLATE=${1:-$NGINX_FILES/wnc-site.conf.in}
[ -r "$TEMPLATE" ] || { echo "render-nginx: cannot read $TEMPLATE" >&2; exit 1; }
CONF_DIR=${CONF_DIR:-$NGINX_FILES}
WEB_ROOT=${WEB_ROOT:-$WEB_FILES}
RUN_DIR=${RUN_DIR:-/run/wnc}
LISTEN=${LISTEN:-80}
ACCESS_LOG=${ACCESS_LOG:-/var/log/nginx/wnc-access.log}
ERROR_LOG=${ERROR_LOG:-/var/log/nginx/wnc-error.log}
WS_PING_S=${WS_PING_S:-${WNC_WS_PING_S:-15}}
# A long-poll ends after half the presence grace period (see wnc-site.conf.in).
GRACE_MS=${WNC_GRACE_MS:-30000}
POLL_TIMEOUT_S=${POLL_TIMEOUT_S:-$(( GRACE_MS / 2000 > 0 ? GRACE_MS / 2000 : 1 ))}
CORES=$(nproc 2>/dev/null || echo 2)
# nginx workers (nginx.conf.in only): half the cores, at least one. On one machine nginx
# shares the cores with wnc-fcgi, Redis and pushd, and with nchan's memory store every worker
# past the first adds a hop between workers to publishes (a pipe write and the channel owner's
# wake-up). On 2 cores one worker costs less everywhere than two (docs/performance.md).
NGINX_WORKERS=${NGINX_WORKERS:-$(( CORES / 2 > 1 ? CORES / 2 : 1 ))}

# The FastCGI pool's size as wnc-fcgi computes it (WNC_WORKERS, 0 = twice the cores, at least
# 4), and the requests each nginx worker may have at it (WNC_FCGI_QUEUE, default 32 per
# thread: at a few hundred µs a request, a full queue is some 30 ms of waiting).
WORKERS=${WNC_WORKERS:-0}
if [ "$WORKERS" = 0 ]; then
  WORKERS=$(( CORES * 2 > 4 ? CORES * 2 : 4 ))
fi
FCGI_QUEUE=${WNC_FCGI_QUEUE:-$(( WORKERS * 32 ))}
# WNC_TRUSTED_PROXIES ("10.0.0.0/8, 127.0.0.1") as geo entries ("10.0.0.0/8 1; 127.0.0.1 1;").
TRUSTED_GEO=""
for p in $(printf '%s' "${WNC_TRUSTED_PROXIES:-}" | tr ',' ' '); do
  case "$p" in *[!0-9A-Fa-f.:/]*) echo "render-nginx: bad WNC_TRUSTED_PROXIES entry: $p" >&2; exit 1 ;; esac
  TRUSTED_GEO="$TRUSTED_GEO$p 1; "
done
# WNC_NCHAN_REDIS ("10.0.0.1:7000,10.0.0.2:7000"): nchan's Redis storage on those cluster
# nodes (it finds the others itself), shared by every instance. One line: sed inserts it.
NCHAN_REDIS="" NCHAN_REDIS_PASS="" PUB_BUFFER=1
if [ -n "${WNC_NCHAN_REDIS:-}" ]; then
  NCHAN_REDIS="upstream wnc_nchan_redis {"
  for n in $(printf '%s' "$WNC_NCHAN_REDIS" | tr ',' ' '); do
    case "$n" in *[!0-9A-Za-z.:_-]*|*:|:*|*[!0-9]) echo "render-nginx: bad WNC_NCHAN_REDIS entry: $n" >&2; exit 1 ;; esac
    NCHAN_REDIS="$NCHAN_REDIS nchan_redis_server redis://$n;"
  done
  NCHAN_REDIS="$NCHAN_REDIS nchan_redis_connect_timeout 1s; nchan_redis_cluster_max_failing_time 30s; }"
  NCHAN_REDIS="$NCHAN_REDIS nchan_redis_storage_mode distributed;"
  NCHAN_REDIS_PASS="nchan_redis_pass wnc_nchan_redis;"
  PUB_BUFFER=16
fi
# WNC_NCHAN_MODULE: the nchan module a prefix instance loads (nginx.conf.in), Debian's by
# default; scripts/nchan-build.sh builds another one (make test-cluster uses nchan 1.3.7).
NCHAN_MODULE=${WNC_NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
case "$NCHAN_MODULE" in
  *[!A-Za-z0-9/._+-]*|[!/]*) echo "render-nginx: WNC_NCHAN_MODULE must be an absolute path" >&2; exit 1 ;;
esac
sed -e "s|@FCGI_QUEUE@|$FCGI_QUEUE|g" \
    -e "s|@NCHAN_MODULE@|$NCHAN_MODULE|g" \
    -e "s|@NCHAN_REDIS@|$NCHAN_REDIS|g" \
    -e "s|@NCHAN_REDIS_PASS@|$NCHAN_REDIS_PASS|g" \
    -e "s|@PUB_BUFFER@|$PUB_BUFFER|g" \
    -e "s|@TRUSTED_GEO@|$TRUSTED_GEO|g" \
    -e "s|@API_RATE@|${WNC_NGINX_RATE:-20}|g" \
    -e "s|@API_BURST@|${WNC_NGINX_BURST:-100}|g" \
    -e "s|@HEALTH_RATE@|${WNC_NGINX_HEALTH_RATE:-10}|g" \
    -e "s|@HEALTH_BURST@|${WNC_NGINX_HEALTH_BURST:-50}|g" \
    -e "s|@RUN_DIR@|$RUN_DIR|g" \
    -e "s|@LISTEN@|$LISTEN|g" \
    -e "s|@WEB_ROOT@|$WEB_ROOT|g" \
    -e "s|@CONF_DIR@|$CONF_DIR|g" \
    -e "s|@ACCESS_LOG@|$ACCESS_LOG|g" \
    -e "s|@ERROR_LOG@|$ERROR_LOG|g" \
    -e "s|@WS_PING_S@|$WS_PING_S|g" \
    -e "s|@POLL_TIMEOUT_S@|$POLL_TIMEOUT_S|g" \
    -e "s|@NGINX_WORKERS@|$NGINX_WORKERS|g" \
    -e "s|@NOFILE@|${NOFILE:-1024}|g" \
    -e "s|@WORKER_CONNECTIONS@|${WORKER_CONNECTIONS:-1024}|g" \
    "$TEMPLATE"
