#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "exec.h"
#include "log.h"
#include "metrics.h"

static int config_instance_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= EXEC_INSTANCE_MAX && strspn(s, EXEC_INSTANCE_CHARS) == n;
}

#define CONFIG_CAUSE_LEN 160 /* bytes for why a value was refused */

struct config config;

#ifndef WNC_DEFAULT_SQL_DIR
#define WNC_DEFAULT_SQL_DIR "sql"
#endif

static const struct config_string {
    const char *name;
    const char *fallback;
    size_t offset;
} config_strings[] = {
    {"WNC_REDIS_HOST", "127.0.0.1", offsetof(struct config, redis_host)},
    {"WNC_REDIS_CLUSTER", "", offsetof(struct config, redis_cluster)}, /* "": one Redis */
    {"WNC_SQL_DIR", WNC_DEFAULT_SQL_DIR, offsetof(struct config, sql_dir)},
    {"WNC_FCGI_SOCKET", "var/fcgi.sock", offsetof(struct config, fcgi_socket)},
    {"WNC_PUBLISH_SOCKET", "var/publish.sock", offsetof(struct config, publish_socket)},
    {"WNC_INSTANCE", "", offsetof(struct config, instance)}, /* "": the host name */
    {"WNC_FCGI_SOCKET_GROUP", "", offsetof(struct config, fcgi_socket_group)},
    {"WNC_NGINX_PID", "", offsetof(struct config, nginx_pid_file)},
    {"WNC_METRICS_LISTEN", "", offsetof(struct config, metrics_listen)}, /* "": no metrics */
    {"WNC_TRUSTED_PROXIES", "", offsetof(struct config, trusted_proxies)},
    {"WNC_LOG_FORMAT", "text", offsetof(struct config, log_format)},
};

static const struct config_number {
    const char *name;
    long fallback, min, max;
    size_t offset;
} config_numbers[] = {
    {"WNC_REDIS_PORT", 6390, 1, 65535, offsetof(struct config, redis_port)},
    {"WNC_WORKERS", 0, 0, 256, offsetof(struct config, workers)}, /* 0: twice the cores */
    {"WNC_ROOM_TTL_S", 86400, 10, 30 * 86400, offsetof(struct config, room_ttl_s)},
    {"WNC_GRACE_MS", 30000, 100, 3600000, offsetof(struct config, grace_ms)},
    {"WNC_TYPING_TTL_MS", 5000, 100, 60000, offsetof(struct config, typing_ttl_ms)},
    {"WNC_SYNC_INTERVAL_MS", 2000, 100, 60000, offsetof(struct config, sync_interval_ms)},
    {"WNC_RATE_LIMIT", 360, 1, 100000000, offsetof(struct config, rate_limit)},
    {"WNC_RATE_WINDOW_S", 60, 1, 3600, offsetof(struct config, rate_window_s)},
    {"WNC_MAX_SUBS_PER_IP", 10, 1, 10000000, offsetof(struct config, max_subs_per_ip)},
    {"WNC_CHAT_RATE", 20, 1, 100000000, offsetof(struct config, chat_rate)},
    {"WNC_CONTROL_RATE", 40, 1, 100000000, offsetof(struct config, control_rate)},
    {"WNC_MAX_USERS", 1000, 2, 1000000, offsetof(struct config, max_users)},
    {"WNC_PUSHD_TICK_MS", 100, 10, 10000, offsetof(struct config, pushd_tick_ms)},
    {"WNC_HEARTBEAT_MS", 15000, 500, 300000, offsetof(struct config, heartbeat_ms)},
};

int config_load(void)
{
    char *base = (char *)&config;
    char cause[CONFIG_CAUSE_LEN];

    for (size_t i = 0; i < sizeof(config_strings) / sizeof(config_strings[0]); i++) {
        const char *value = getenv(config_strings[i].name);
        *(const char **)(base + config_strings[i].offset) =
            value != NULL && *value != '\0' ? value : config_strings[i].fallback;
    }
    for (size_t i = 0; i < sizeof(config_numbers) / sizeof(config_numbers[0]); i++) {
        const struct config_number *n = &config_numbers[i];
        const char *value = getenv(n->name);
        long number = n->fallback;

        if (value != NULL && *value != '\0') {
            char *end;
            errno = 0;
            number = strtol(value, &end, 10);
            if (errno != 0 || *end != '\0' || number < n->min || number > n->max) {
                log_error("config: %s=\"%s\" is not a number in [%ld, %ld]", n->name, value, n->min,
                          n->max);
                return -1;
            }
        }
        *(int *)(base + n->offset) = (int)number;
    }
    if (addr_cidrs_parse(config.trusted_proxies, &config.trusted_proxy_cidrs, cause,
                         sizeof(cause)) != 0) {
        log_error("config: WNC_TRUSTED_PROXIES=\"%s\" is not a list of addresses or CIDR "
                  "ranges: %s",
                  config.trusted_proxies, cause);
        return -1;
    }
    struct cluster_addr seeds[CLUSTER_MAX_SEEDS];
    if (*config.redis_cluster != '\0' &&
        cluster_seeds_parse(config.redis_cluster, seeds, CLUSTER_MAX_SEEDS) < 0) {
        log_error("config: WNC_REDIS_CLUSTER=\"%s\" is not a list of 1 to %d host:port",
                  config.redis_cluster, CLUSTER_MAX_SEEDS);
        return -1;
    }
    enum log_format format;
    if (!log_format_parse(config.log_format, &format)) {
        log_error("config: WNC_LOG_FORMAT=\"%s\" must be text or json", config.log_format);
        return -1;
    }
    struct metrics_listen metrics_at;
    if (metrics_listen_parse(config.metrics_listen, &metrics_at, cause, sizeof(cause)) != 0) {
        log_error("config: WNC_METRICS_LISTEN=\"%s\" is invalid: %s", config.metrics_listen, cause);
        return -1;
    }
    if (config.workers == 0) { /* threads mostly wait on Redis: two per core, at least 4 */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        config.workers = cores * 2 > 4 ? (int)(cores > 128 ? 256 : cores * 2) : 4;
    }
    if (*config.instance == '\0') {
        static char host[EXEC_INSTANCE_MAX + 1];
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        config.instance = host;
    }
    if (!config_instance_valid(config.instance)) {
        log_error("config: WNC_INSTANCE=\"%s\" must be 1 to %d letters, digits, '.', '_' or '-'",
                  config.instance, EXEC_INSTANCE_MAX);
        return -1;
    }
    return 0;
}

void config_print(FILE *out)
{
    const char *base = (const char *)&config;

    for (size_t i = 0; i < sizeof(config_strings) / sizeof(config_strings[0]); i++)
        fprintf(out, "%s=%s\n", config_strings[i].name,
                *(const char *const *)(base + config_strings[i].offset));
    for (size_t i = 0; i < sizeof(config_numbers) / sizeof(config_numbers[0]); i++)
        fprintf(out, "%s=%d\n", config_numbers[i].name,
                *(const int *)(base + config_numbers[i].offset));
}
