#!/bin/sh
# Renders an nginx template: scripts/render-nginx.sh TEMPLATE > OUTPUT, values from the
# environment (the names match the @...@ markers; scripts/stack.sh sets them all).
set -eu
# The FastCGI pool's size as wnc-fcgi computes it (WNC_WORKERS, 0 = twice the cores, at least
# 4), and the requests each nginx worker may have at it (WNC_FCGI_QUEUE, default 32 per
# thread: at a few hundred µs a request, a full queue is some 30 ms of waiting).
WORKERS=${WNC_WORKERS:-0}
if [ "$WORKERS" = 0 ]; then
  CORES=$(nproc 2>/dev/null || echo 2)
  WORKERS=$(( CORES * 2 > 4 ? CORES * 2 : 4 ))
fi
FCGI_QUEUE=${WNC_FCGI_QUEUE:-$(( WORKERS * 32 ))}
# WNC_TRUSTED_PROXIES ("10.0.0.0/8, 127.0.0.1") as geo entries ("10.0.0.0/8 1; 127.0.0.1 1;").
TRUSTED_GEO=""
for p in $(printf '%s' "${WNC_TRUSTED_PROXIES:-}" | tr ',' ' '); do
  case "$p" in *[!0-9A-Fa-f.:/]*) echo "render-nginx: bad WNC_TRUSTED_PROXIES entry: $p" >&2; exit 1 ;; esac
  TRUSTED_GEO="$TRUSTED_GEO$p 1; "
done
sed -e "s|@FCGI_QUEUE@|$FCGI_QUEUE|g" \
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
    -e "s|@ERROR_LOG@|${ERROR_LOG:-$RUN_DIR/logs/nginx-error.log}|g" \
    -e "s|@WS_PING_S@|$WS_PING_S|g" \
    -e "s|@POLL_TIMEOUT_S@|${POLL_TIMEOUT_S:-15}|g" \
    -e "s|@NGINX_WORKERS@|$NGINX_WORKERS|g" \
    -e "s|@NOFILE@|${NOFILE:-1024}|g" \
    -e "s|@WORKER_CONNECTIONS@|${WORKER_CONNECTIONS:-1024}|g" \
    "$1"
