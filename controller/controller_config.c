/* controller_config.c — every key of controller.properties. */
#include "controller/controller_int.h"

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(field) offsetof(controller_config, field)
#define NOCHECK    1, 0
#define IGNORED    SIZE_MAX

static const sl_cfg_def controller_defs[] = {
    { "node.id", SL_CFG_INT, OFF(node_id), NULL, 0, INT32_MAX, NULL, SL_CFG_REQUIRED,
      "This controller's id; must appear in controller.quorum.voters" },
    { "process.roles", SL_CFG_LIST, OFF(process_roles), "controller", NOCHECK, "controller", 0,
      "Must be controller (brokers are separate sluice-broker processes)" },
    { "controller.quorum.voters", SL_CFG_LIST, OFF(quorum_voters), NULL, NOCHECK, NULL,
      SL_CFG_REQUIRED, "The voters id@host:port,… (static membership)" },
    { "listeners", SL_CFG_LIST, OFF(listeners), NULL, NOCHECK, NULL, 0,
      "CONTROLLER://host:port to bind (default: this node's voter address)" },
    { "controller.listener.names", SL_CFG_LIST, IGNORED, "CONTROLLER", NOCHECK, NULL, 0,
      "Accepted for compatibility" },
    { "metadata.log.dir", SL_CFG_STRING, OFF(metadata_log_dir), NULL, NOCHECK, NULL, 0,
      "Directory of the metadata log (default: <log.dirs>/__cluster_metadata-0)" },
    { "log.dirs", SL_CFG_STRING, OFF(log_dirs), "/tmp/sluice-controller", NOCHECK, NULL, 0,
      "Used when metadata.log.dir is not set" },
    { "controller.quorum.election.timeout.ms", SL_CFG_INT, OFF(election_timeout_ms), "1000", 10,
      INT32_MAX, NULL, 0, "Election timeout, randomised in [t, 2t)" },
    { "controller.quorum.fetch.timeout.ms", SL_CFG_INT, OFF(fetch_timeout_ms), "2000", 10,
      INT32_MAX, NULL, 0, "A follower without a leader response, or a leader without a "
      "majority's fetches, for this long gives up" },
    { "controller.quorum.request.timeout.ms", SL_CFG_INT, OFF(request_timeout_ms), "2000", 10,
      INT32_MAX, NULL, 0, "Quorum request timeout" },
    { "controller.quorum.retry.backoff.ms", SL_CFG_INT, OFF(retry_backoff_ms), "20", 0,
      INT32_MAX, NULL, 0, "Backoff after a failed quorum request" },
    { "controller.quorum.election.backoff.max.ms", SL_CFG_INT, IGNORED, "1000", 0, INT32_MAX,
      NULL, 0, "Accepted; elections back off by the randomised timeout" },
    { "metadata.log.max.record.bytes.between.snapshots", SL_CFG_LONG, OFF(snapshot_bytes),
      "20971520", 1024, INT64_MAX, NULL, 0, "Log bytes between metadata snapshots" },
    { "broker.heartbeat.interval.ms", SL_CFG_INT, OFF(heartbeat_interval_ms), "500", 10,
      INT32_MAX, NULL, 0, "Heartbeat period brokers are told to use" },
    { "broker.session.timeout.ms", SL_CFG_INT, OFF(session_timeout_ms), "9000", 10, INT32_MAX,
      NULL, 0, "A broker without a heartbeat for this long is fenced" },
    { "broker.lease.grace.ms", SL_CFG_INT, OFF(lease_grace_ms), "100", 0, INT32_MAX, NULL, 0,
      "After a broker's controller connection closes, fence it unless it reconnects within "
      "this time (a killed process closes its sockets)" },
    { "num.partitions", SL_CFG_INT, OFF(num_partitions), "1", 1, INT32_MAX, NULL, 0,
      "Partitions of topics created without a count" },
    { "default.replication.factor", SL_CFG_INT, OFF(default_replication_factor), "1", 1, 32767,
      NULL, 0, "Replication factor of topics created without one" },
    { "auto.leader.rebalance.enable", SL_CFG_BOOL, OFF(auto_leader_rebalance), "true", NOCHECK,
      NULL, 0, "Move leadership back to preferred replicas in the background" },
    { "leader.imbalance.check.interval.seconds", SL_CFG_LONG, OFF(imbalance_check_seconds),
      "300", 1, INT64_MAX, NULL, 0, "How often leadership balance is checked" },
    { "leader.imbalance.per.broker.percentage", SL_CFG_INT, OFF(imbalance_percentage), "10", 0,
      100, NULL, 0, "Imbalance that triggers a preferred-leader election for a broker" },
    { "delete.topic.enable", SL_CFG_BOOL, OFF(delete_topic_enable), "true", NOCHECK, NULL, 0,
      "Allow topic deletion" },
    { "cluster.id", SL_CFG_STRING, OFF(cluster_id), NULL, NOCHECK, NULL, 0,
      "Cluster id for a new metadata log (default: random); a log with another id refuses" },
    { "log.level", SL_CFG_STRING, OFF(log_level), "info", NOCHECK,
      "error,warn,info,debug,trace", 0, "Log level" },
    { "log.debug", SL_CFG_LIST, OFF(log_debug), "", NOCHECK, NULL, 0,
      "Modules logged at debug level (raft,controller,net,…)" },
    { "log.file", SL_CFG_STRING, OFF(log_file), NULL, NOCHECK, NULL, 0,
      "Log to this file instead of stderr" },
};

#define CONTROLLER_DEF_COUNT (sizeof(controller_defs) / sizeof(controller_defs[0]))

/* The controller's keys plus the cluster-wide topic defaults it resolves against
 * (min.insync.replicas, unclean.leader.election.enable, …), validated, not stored. */
static sl_cfg_def all_defs_g[CONTROLLER_DEF_COUNT + 64];
static sl_cfg_table table_g;
static pthread_once_t table_once_g = PTHREAD_ONCE_INIT;

static void table_init(void) {
    metadata_config_table_build(&table_g, "controller", controller_defs, CONTROLLER_DEF_COUNT,
                                all_defs_g, sizeof(all_defs_g) / sizeof(all_defs_g[0]));
}

const sl_cfg_table *controller_config_table(void) {
    pthread_once(&table_once_g, table_init);
    return &table_g;
}

static int config_check(controller_config *cfg, char *err, size_t err_size) {
    int n = metadata_parse_voters(cfg->quorum_voters, cfg->voters, CONTROLLER_VOTERS_MAX, err,
                                  err_size);
    if (n < 0) return n;
    cfg->voter_count = n;
    cfg->self_index = -1;
    for (int i = 0; i < n; i++) {
        if (cfg->voters[i].id == cfg->node_id) cfg->self_index = i;
    }
    if (cfg->self_index < 0) {
        snprintf(err, err_size, "node.id %d is not in controller.quorum.voters %s", cfg->node_id,
                 cfg->quorum_voters);
        return SL_E_CONFIG;
    }
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "%s", cfg->voters[cfg->self_index].host);
    cfg->listen_port = cfg->voters[cfg->self_index].port;
    if (cfg->listeners && cfg->listeners[0]) {
        metadata_listener l[4];
        int ln = metadata_parse_listeners(cfg->listeners, l, 4, err, err_size);
        if (ln < 0) return ln;
        if (ln != 1) {
            snprintf(err, err_size, "listeners: a controller has exactly one listener");
            return SL_E_CONFIG;
        }
        snprintf(cfg->listen_host, sizeof(cfg->listen_host), "%s", l[0].host);
        cfg->listen_port = l[0].port;
    }
    if (cfg->metadata_log_dir && cfg->metadata_log_dir[0]) {
        snprintf(cfg->meta_dir, sizeof(cfg->meta_dir), "%s", cfg->metadata_log_dir);
    } else {
        snprintf(cfg->meta_dir, sizeof(cfg->meta_dir), "%s/__cluster_metadata-0", cfg->log_dirs);
    }
    return SL_OK;
}

int controller_config_load(controller_config *cfg, const sl_cli *cli, char *err,
                           size_t err_size) {
    memset(cfg, 0, sizeof(*cfg));
    int rc = sl_config_load(controller_config_table(), cfg, cli, err, err_size);
    if (rc < 0) return rc;
    sl_props_init(&cfg->props);
    SL_TRY(sl_cli_props(cli, &cfg->props, err, err_size));
    return config_check(cfg, err, err_size);
}

void controller_config_free(controller_config *cfg) {
    sl_config_free(controller_config_table(), cfg);
    sl_props_deinit(&cfg->props);
}
