/* Process configuration from environment variables. One table in config.c lists every
 * variable with its default and bounds; README's configuration section mirrors it. */
#ifndef WNC_CONFIG_H
#define WNC_CONFIG_H

#include <stdio.h>

#include "addr.h"

struct config {
    const char *redis_host;
    int redis_port;
    const char *redis_cluster;  /* WNC_REDIS_CLUSTER: seed nodes "host:port,..."; "": one Redis */
    const char *sql_dir;        /* where the Lua scripts live */
    const char *fcgi_socket;    /* unix socket the workers listen on */
    const char *publish_socket; /* nchan's internal publisher socket */
    const char *instance;       /* this machine's name in lease owners (proc.h) */
    const char *fcgi_socket_group; /* group given the socket (nginx's workers), "": none */
    const char *nginx_pid_file;    /* nginx's pid file, for pushd's worker watch; "": none */
    const char *log_format;        /* WNC_LOG_FORMAT: "text" or "json" (log.h) */
    int workers;                   /* worker threads in wnc-fcgi */
    int room_ttl_s;
    int grace_ms;
    int typing_ttl_ms;
    int sync_interval_ms;
    int rate_limit; /* requests per IP per window */
    int rate_window_s;
    int max_subs_per_ip;
    int chat_rate;    /* chat messages per user per 10 s */
    int control_rate; /* control actions (video, typing, promote, kick) per user per 10 s */
    int max_users;    /* members per room */
    int pushd_tick_ms;
    int heartbeat_ms;            /* a heartbeat event on every room's channel this often */
    const char *trusted_proxies; /* WNC_TRUSTED_PROXIES as given ("" trusts no proxy) */
    struct addr_cidrs trusted_proxy_cidrs; /* the same, parsed by config_load */
    const char *metrics_listen; /* WNC_METRICS_LISTEN: "" (off), a unix socket, a loopback port */
};

extern struct config config;

/* Reads the environment into `config`. Returns 0, or -1 after logging which variable is out of
 * range or malformed, and why (startup may exit on that). Call it before the worker threads
 * start: they read `config` without a lock. */
int config_load(void);

/* Prints the effective configuration to out, one "NAME=value" line per variable of the table in
 * its order, with what config_load made of it (WNC_WORKERS=0 as the thread count it stands for,
 * an empty WNC_INSTANCE as the host name): `wnc-fcgi --check-config`, `wnc-pushd
 * --check-config`. No variable holds a secret today; one that does must be masked here. */
void config_print(FILE *out);

#endif
