/* broker_config.c — every key of broker.properties: type, default, range, doc.
 *
 * The table below holds the broker's own keys; the static defaults of topic-level
 * settings (log.retention.ms, log.segment.bytes, min.insync.replicas …) come from
 * metadata's dynamic-broker table and are validated here too, then resolved per topic by
 * metadata_topic_config_value (topic override → dynamic → static → Kafka default). */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OFF(field) offsetof(broker_config, field)
#define NOCHECK    1, 0
#define IGNORED    SIZE_MAX

static const sl_cfg_def broker_defs[] = {
    { "node.id", SL_CFG_INT, OFF(node_id), "-1", -1, INT32_MAX, NULL, 0,
      "This broker's id, unique across brokers and controllers" },
    { "broker.id", SL_CFG_INT, OFF(broker_id_alias), "-1", -1, INT32_MAX, NULL, 0,
      "Alias of node.id" },
    { "process.roles", SL_CFG_LIST, OFF(process_roles), "broker", NOCHECK, "broker", 0,
      "Must be broker (controllers are separate sluice-controller processes)" },
    { "listeners", SL_CFG_LIST, OFF(listeners), "PLAINTEXT://127.0.0.1:9092", NOCHECK, NULL, 0,
      "Listeners NAME://host:port the broker binds" },
    { "advertised.listeners", SL_CFG_LIST, OFF(advertised_listeners), NULL, NOCHECK, NULL, 0,
      "Addresses clients must dial, NAME://host:port (default: listeners)" },
    { "listener.security.protocol.map", SL_CFG_LIST, OFF(security_protocol_map),
      "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", NOCHECK,
      NULL, 0, "Listener name to security protocol" },
    { "inter.broker.listener.name", SL_CFG_STRING, OFF(inter_broker_listener), NULL, NOCHECK,
      NULL, 0, "Listener followers fetch through (default: the first listener)" },
    { "controller.quorum.voters", SL_CFG_LIST, OFF(quorum_voters), NULL, NOCHECK, NULL,
      SL_CFG_REQUIRED, "Controller voters id@host:port,…" },
    { "controller.quorum.bootstrap.servers", SL_CFG_LIST, IGNORED, NULL, NOCHECK, NULL, 0,
      "Accepted for compatibility; voters are static" },
    { "controller.listener.names", SL_CFG_LIST, IGNORED, "CONTROLLER", NOCHECK, NULL, 0,
      "Accepted for compatibility" },
    { "log.dirs", SL_CFG_LIST, OFF(log_dirs), NULL, NOCHECK, NULL, 0,
      "Directory holding partition logs (one directory)" },
    { "log.dir", SL_CFG_STRING, OFF(log_dir), "/tmp/sluice-logs", NOCHECK, NULL, 0,
      "Used when log.dirs is not set" },
    { "metadata.log.dir", SL_CFG_STRING, OFF(metadata_log_dir), NULL, NOCHECK, NULL, 0,
      "Where the broker keeps its copy of the metadata log (default: <log.dir>/__cluster_metadata-0)" },
    { "num.partitions", SL_CFG_INT, OFF(num_partitions), "1", 1, INT32_MAX, NULL, 0,
      "Partitions of auto-created topics" },
    { "default.replication.factor", SL_CFG_INT, OFF(default_replication_factor), "1", 1, 32767,
      NULL, 0, "Replication factor of auto-created topics" },
    { "auto.create.topics.enable", SL_CFG_BOOL, OFF(auto_create_topics), "true", NOCHECK, NULL,
      0, "Create a topic when a client asks for a missing one" },
    { "delete.topic.enable", SL_CFG_BOOL, OFF(delete_topic_enable), "true", NOCHECK, NULL, 0,
      "Allow topic deletion" },
    { "replica.lag.time.max.ms", SL_CFG_LONG, OFF(replica_lag_time_max_ms), "30000", 1,
      INT64_MAX, NULL, 0, "A follower not caught up for this long leaves the ISR" },
    { "replica.fetch.max.bytes", SL_CFG_INT, OFF(replica_fetch_max_bytes), "1048576", 0,
      INT32_MAX, NULL, 0, "Bytes per partition a follower fetch asks for" },
    { "replica.fetch.response.max.bytes", SL_CFG_INT, OFF(replica_fetch_response_max_bytes),
      "10485760", 0, INT32_MAX, NULL, 0, "Bytes per follower fetch response" },
    { "replica.fetch.wait.max.ms", SL_CFG_INT, OFF(replica_fetch_wait_max_ms), "500", 0,
      INT32_MAX, NULL, 0, "Longest a follower fetch waits at the leader" },
    { "replica.fetch.min.bytes", SL_CFG_INT, OFF(replica_fetch_min_bytes), "1", 1, INT32_MAX,
      NULL, 0, "Bytes a follower fetch waits for" },
    { "replica.fetch.backoff.ms", SL_CFG_INT, OFF(replica_fetch_backoff_ms), "1000", 0,
      INT32_MAX, NULL, 0, "Pause after a failed follower fetch" },
    { "num.replica.fetchers", SL_CFG_INT, IGNORED, "1", 1, INT32_MAX, NULL, 0,
      "Accepted; one fetcher connection per source broker" },
    { "socket.request.max.bytes", SL_CFG_INT, OFF(socket_request_max_bytes), "104857600", 1,
      INT32_MAX, NULL, 0, "Largest request accepted (checked before reading it)" },
    { "socket.send.buffer.bytes", SL_CFG_INT, OFF(socket_send_buffer_bytes), "102400", -1,
      INT32_MAX, NULL, 0, "SO_SNDBUF (-1 = OS default)" },
    { "socket.receive.buffer.bytes", SL_CFG_INT, OFF(socket_receive_buffer_bytes), "102400", -1,
      INT32_MAX, NULL, 0, "SO_RCVBUF (-1 = OS default)" },
    { "connections.max.idle.ms", SL_CFG_LONG, OFF(connections_max_idle_ms), "600000", 1,
      INT64_MAX, NULL, 0, "Idle client connections are closed after this" },
    { "num.network.threads", SL_CFG_INT, IGNORED, "3", 1, INT32_MAX, NULL, 0,
      "Accepted; sluice serves a broker from one event loop" },
    { "num.io.threads", SL_CFG_INT, IGNORED, "8", 1, INT32_MAX, NULL, 0, "Accepted" },
    { "broker.heartbeat.interval.ms", SL_CFG_INT, OFF(heartbeat_interval_ms), "500", 10,
      INT32_MAX, NULL, 0, "Heartbeat period to the active controller" },
    { "broker.session.timeout.ms", SL_CFG_INT, IGNORED, "9000", 1, INT32_MAX, NULL, 0,
      "Set on the controllers" },
    { "offsets.topic.num.partitions", SL_CFG_INT, OFF(offsets_topic_partitions), "50", 1,
      INT32_MAX, NULL, 0, "Partitions of __consumer_offsets" },
    { "offsets.topic.replication.factor", SL_CFG_INT, OFF(offsets_topic_rf), "3", 1, 32767,
      NULL, 0, "Replication factor of __consumer_offsets (capped at the live brokers)" },
    { "offsets.topic.segment.bytes", SL_CFG_INT, OFF(offsets_topic_segment_bytes), "104857600",
      1, INT32_MAX, NULL, 0, "Segment size of __consumer_offsets" },
    { "offsets.retention.minutes", SL_CFG_INT, OFF(offsets_retention_minutes), "10080", 1,
      INT32_MAX, NULL, 0, "Committed offsets of empty groups expire after this" },
    { "offsets.retention.check.interval.ms", SL_CFG_LONG, OFF(offsets_retention_check_ms),
      "600000", 1, INT64_MAX, NULL, 0, "How often expired offsets are removed" },
    { "offsets.commit.timeout.ms", SL_CFG_INT, OFF(offsets_commit_timeout_ms), "5000", 1,
      INT32_MAX, NULL, 0, "Longest an offset commit waits for replication" },
    { "group.initial.rebalance.delay.ms", SL_CFG_INT, OFF(group_initial_rebalance_delay_ms),
      "3000", 0, INT32_MAX, NULL, 0, "Wait for more members before the first rebalance" },
    { "group.min.session.timeout.ms", SL_CFG_INT, OFF(group_min_session_timeout_ms), "6000", 0,
      INT32_MAX, NULL, 0, "Smallest session timeout a member may ask for" },
    { "group.max.session.timeout.ms", SL_CFG_INT, OFF(group_max_session_timeout_ms), "1800000",
      0, INT32_MAX, NULL, 0, "Largest session timeout a member may ask for" },
    { "group.max.size", SL_CFG_INT, OFF(group_max_size), "2147483647", 1, INT32_MAX, NULL, 0,
      "Members per group" },
    { "log.retention.check.interval.ms", SL_CFG_LONG, OFF(retention_check_interval_ms),
      "300000", 1, INT64_MAX, NULL, 0, "How often retention runs" },
    { "log.retention.hours", SL_CFG_INT, IGNORED, "168", -1, INT32_MAX, NULL, 0,
      "Retention in hours (log.retention.ms wins)" },
    { "log.retention.minutes", SL_CFG_INT, IGNORED, NULL, -1, INT32_MAX, NULL, 0,
      "Retention in minutes (log.retention.ms wins)" },
    { "log.roll.hours", SL_CFG_INT, IGNORED, "168", 1, INT32_MAX, NULL, 0,
      "Segment age in hours (log.roll.ms wins)" },
    { "log.roll.jitter.hours", SL_CFG_INT, IGNORED, "0", 0, INT32_MAX, NULL, 0,
      "Roll jitter in hours" },
    { "metrics.listener", SL_CFG_STRING, OFF(metrics_listener), NULL, NOCHECK, NULL, 0,
      "host:port of the HTTP endpoint serving /metrics (empty = off)" },
    { "log.level", SL_CFG_STRING, OFF(log_level), "info", NOCHECK,
      "error,warn,info,debug,trace", 0, "Log level" },
    { "log.debug", SL_CFG_LIST, OFF(log_debug), "", NOCHECK, NULL, 0,
      "Modules logged at debug level (net,replica,group,…)" },
    { "log.file", SL_CFG_STRING, OFF(log_file), NULL, NOCHECK, NULL, 0,
      "Log to this file instead of stderr" },
    { "cluster.id", SL_CFG_STRING, OFF(cluster_id), NULL, NOCHECK, NULL, 0,
      "Refuse to join a quorum with another cluster id" },
    { "controlled.shutdown.enable", SL_CFG_BOOL, OFF(controlled_shutdown), "true", NOCHECK,
      NULL, 0, "Move leaderships away before exiting on SIGTERM" },
    { "controlled.shutdown.max.wait.ms", SL_CFG_LONG, OFF(controlled_shutdown_max_wait_ms),
      "30000", 0, INT64_MAX, NULL, 0, "Longest SIGTERM waits for leaderships to move" },
};

#define BROKER_DEF_COUNT (sizeof(broker_defs) / sizeof(broker_defs[0]))

/* The broker's own keys followed by the static topic defaults (validated, not stored:
 * they are resolved from the raw properties per topic). */
static sl_cfg_def all_defs_g[BROKER_DEF_COUNT + 64];
static sl_cfg_table table_g;
static pthread_once_t table_once_g = PTHREAD_ONCE_INIT;

static void table_init(void) {
    metadata_config_table_build(&table_g, "broker", broker_defs, BROKER_DEF_COUNT, all_defs_g,
                                sizeof(all_defs_g) / sizeof(all_defs_g[0]));
}

const sl_cfg_table *broker_config_table(void) {
    pthread_once(&table_once_g, table_init);
    return &table_g;
}

int broker_config_load(broker_config *cfg, const sl_cli *cli, char *err, size_t err_size) {
    const sl_cfg_table *table = broker_config_table();
    memset(cfg, 0, sizeof(*cfg));
    int rc = sl_config_load(table, cfg, cli, err, err_size);
    if (rc < 0) return rc;
    sl_props_init(&cfg->props);
    SL_TRY(sl_cli_props(cli, &cfg->props, err, err_size));
    if (cfg->node_id < 0) cfg->node_id = cfg->broker_id_alias;
    cfg->broker_id_alias = cfg->node_id;
    if (cfg->node_id < 0) {
        snprintf(err, err_size, "Missing required configuration node.id");
        return SL_E_CONFIG;
    }
    return broker_config_check(cfg, err, err_size);
}

void broker_config_free(broker_config *cfg) {
    sl_config_free(broker_config_table(), cfg);
    sl_props_deinit(&cfg->props);
}

int broker_config_check(broker_config *cfg, char *err, size_t err_size) {
    int n = metadata_parse_listeners(cfg->listeners, cfg->listen, BROKER_LISTENERS_MAX, err,
                                     err_size);
    if (n < 0) return n;
    if (n == 0) {
        snprintf(err, err_size, "Invalid value for configuration listeners: no listener");
        return SL_E_CONFIG;
    }
    cfg->listen_count = n;
    if (cfg->advertised_listeners && cfg->advertised_listeners[0]) {
        n = metadata_parse_listeners(cfg->advertised_listeners, cfg->advertised,
                                     BROKER_LISTENERS_MAX, err, err_size);
        if (n < 0) return n;
        cfg->advertised_count = n;
    } else {
        memcpy(cfg->advertised, cfg->listen, sizeof(cfg->listen));
        cfg->advertised_count = cfg->listen_count;
    }
    for (int i = 0; i < cfg->advertised_count; i++) {
        metadata_listener *a = &cfg->advertised[i];
        if (!a->host[0] || strcmp(a->host, "0.0.0.0") == 0 || strcmp(a->host, "::") == 0) {
            snprintf(err, err_size,
                     "advertised listener %s has no routable host (%s); set "
                     "advertised.listeners to the address clients dial",
                     a->name, a->host[0] ? a->host : "empty");
            return SL_E_CONFIG;
        }
    }
    cfg->inter_broker_index = 0;
    if (cfg->inter_broker_listener) {
        int found = -1;
        for (int i = 0; i < cfg->advertised_count; i++) {
            if (strcasecmp(cfg->advertised[i].name, cfg->inter_broker_listener) == 0) found = i;
        }
        if (found < 0) {
            snprintf(err, err_size, "inter.broker.listener.name %s is not an advertised listener",
                     cfg->inter_broker_listener);
            return SL_E_CONFIG;
        }
        cfg->inter_broker_index = found;
    }
    n = metadata_parse_voters(cfg->quorum_voters, cfg->voters, BROKER_VOTERS_MAX, err, err_size);
    if (n < 0) return n;
    cfg->voter_count = n;
    for (int i = 0; i < n; i++) {
        if (cfg->voters[i].id == cfg->node_id) {
            snprintf(err, err_size,
                     "node.id %d is also a controller voter; brokers and controllers need "
                     "distinct ids",
                     cfg->node_id);
            return SL_E_CONFIG;
        }
    }
    const char *dirs = cfg->log_dirs && cfg->log_dirs[0] ? cfg->log_dirs : cfg->log_dir;
    if (!dirs || !dirs[0]) {
        snprintf(err, err_size, "Missing required configuration log.dirs");
        return SL_E_CONFIG;
    }
    if (strchr(dirs, ',')) {
        snprintf(err, err_size, "log.dirs=%s: one log directory per broker is supported", dirs);
        return SL_E_CONFIG;
    }
    cfg->data_dir = dirs;
    if (cfg->metadata_log_dir && cfg->metadata_log_dir[0]) {
        snprintf(cfg->meta_dir, sizeof(cfg->meta_dir), "%s", cfg->metadata_log_dir);
    } else {
        snprintf(cfg->meta_dir, sizeof(cfg->meta_dir), "%s/__cluster_metadata-0", dirs);
    }
    return SL_OK;
}
