/* tools_api_versions.c — `sluice broker-api-versions`: the API versions every broker of
 * the cluster supports, in the layout of Kafka's kafka-broker-api-versions.sh:
 *
 *   127.0.0.1:9092 (id: 1 rack: null) -> (
 *   	Produce(0): 0 to 11 [usable: 11],
 *   	...
 *   )
 *
 * "usable" is the highest version both this tool's codecs and the broker speak; APIs a
 * broker listener should have but the broker does not announce show as UNSUPPORTED.
 * Exit status 0 when at least one broker answered (Docker health checks rely on it). */
#include "tools/tools.h"

#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

static const tools_opt_def api_versions_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED,
      "server(s) to use for bootstrapping", NULL, "The server to connect to." },
    { "command-config", TOOLS_OPT_STRING, 0, "command config property file", NULL,
      "A property file containing configs to be passed to Admin Client." },
};

/* API keys served on a broker listener (Kafka's ApiKeys.zkBrokerApis minus the
 * ZooKeeper-era inter-broker ones); a broker that lacks one is shown UNSUPPORTED. */
static const int16_t broker_api_keys[] = { 0,  1,  2,  3,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                           17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                                           30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
                                           43, 44, 45, 46, 47, 48, 49, 50, 51, 55, 57, 60, 61,
                                           64, 65, 66, 68, 69, 71, 72, 74, 75 };

static bool api_is_broker_api(int16_t key) {
    for (size_t i = 0; i < sizeof(broker_api_keys) / sizeof(broker_api_keys[0]); i++) {
        if (broker_api_keys[i] == key) return true;
    }
    return false;
}

static void api_print_one(FILE *f, int16_t key, int16_t min, int16_t max) {
    const protocol_api *api = protocol_api_find(key);
    if (api) {
        fprintf(f, "%s(%d): ", api->name, key);
    } else {
        fprintf(f, "UNKNOWN(%d): ", key);
    }
    if (min == max) {
        fprintf(f, "%d", min);
    } else {
        fprintf(f, "%d to %d", min, max);
    }
    if (!api) return;
    int16_t ours = api->max_version;
    if (api->unstable_max && ours > api->min_version) ours--;
    if (ours < min) {
        fprintf(f, " [unusable: node too new]");
    } else if (max < api->min_version) {
        fprintf(f, " [unusable: node too old]");
    } else {
        fprintf(f, " [usable: %d]", ours < max ? ours : max);
    }
}

static void api_print_node(FILE *f, const int16_t *min, const int16_t *max) {
    fprintf(f, "(\n\t");
    bool first = true;
    for (int16_t key = 0; key < TOOLS_KC_API_KEYS; key++) {
        if (max[key] < 0 && !(protocol_api_find(key) && api_is_broker_api(key))) continue;
        if (!first) fprintf(f, ",\n\t");
        first = false;
        if (max[key] < 0) {
            fprintf(f, "%s(%d): UNSUPPORTED", protocol_api_find(key)->name, key);
        } else {
            api_print_one(f, key, min[key], max[key]);
        }
    }
    fprintf(f, "\n)\n");
}

static int broker_cmp(const void *a, const void *b) {
    const protocol_MetadataResponse_MetadataResponseBroker *x = a, *y = b;
    return (x->NodeId > y->NodeId) - (x->NodeId < y->NodeId);
}

static int api_versions_run(const tools_opts *o) {
    char err[512];
    tools_kc *kc = NULL;
    if (tools_kc_open(tools_opts_str(o, "bootstrap-server"), tools_opts_str(o, "command-config"),
                      "broker-api-versions", &kc, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "%s\n", err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataResponse md;
    int answered = 0;
    if (tools_kc_metadata(kc, NULL, 0, &arena, &md, NULL, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "Error: %s\n", err);
        goto out;
    }
    qsort(md.Brokers.items, (size_t)md.Brokers.count, sizeof(*md.Brokers.items), broker_cmp);
    for (int32_t i = 0; i < md.Brokers.count; i++) {
        const protocol_MetadataResponse_MetadataResponseBroker *b = &md.Brokers.items[i];
        printf("%.*s:%d (id: %d rack: %.*s) -> ", b->Host.len, b->Host.ptr, b->Port, b->NodeId,
               b->Rack.len >= 0 ? b->Rack.len : 4, b->Rack.len >= 0 ? b->Rack.ptr : "null");
        int16_t min[TOOLS_KC_API_KEYS], max[TOOLS_KC_API_KEYS];
        if (tools_kc_api_versions(kc, b->NodeId, min, max, err, sizeof(err)) != SL_OK) {
            printf("ERROR: %s\n", err);
            continue;
        }
        api_print_node(stdout, min, max);
        answered++;
    }
out:
    sl_arena_deinit(&arena);
    tools_kc_close(kc);
    return answered > 0 ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

const tools_command tools_cmd_broker_api_versions = {
    .name = "broker-api-versions",
    .summary = "print the API versions every broker supports",
    .description = "This tool helps to retrieve broker version information. Exit status 0 when "
                   "at least one broker answered.",
    .opts = api_versions_opts,
    .opt_count = sizeof(api_versions_opts) / sizeof(api_versions_opts[0]),
    .run = api_versions_run,
};
