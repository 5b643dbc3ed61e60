#!/bin/sh
# Renders an nginx template: scripts/render-nginx.sh TEMPLATE > OUTPUT, values from the
# environment (the names match the @...@ markers; scripts/stack.sh sets them all).
set -eu
sed -e "s|@RUN_DIR@|$RUN_DIR|g" \
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
