/* tools_delete_records.c — `sluice delete-records --offset-json-file F`: move the log
 * start offset of partitions forward (DeleteRecords at each partition's leader), as Kafka's
 * kafka-delete-records.sh. The file is Kafka's JSON:
 *
 *   {"partitions": [{"topic": "foo", "partition": 0, "offset": 3}], "version": 1}
 *
 * (offset -1 means the high watermark). Output:
 *
 *   Executing records delete operation
 *   Records delete operation completed:
 *   partition: foo-0	low_watermark: 3
 *   partition: foo-1	error: org.apache.kafka.common.errors.OffsetOutOfRangeException: …
 *
 * Exit status 1 when any partition failed. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#define DELETE_RECORDS_TIMEOUT_MS 30000

static const tools_opt_def dr_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED,
      "server(s) to use for bootstrapping", NULL, "The server to connect to." },
    { "offset-json-file", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "Offset json file path", NULL,
      "The JSON file with offset per partition. The format to use is: {\"partitions\": "
      "[{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}], \"version\":1 }" },
    { "command-config", TOOLS_OPT_STRING, 0, "command config property file path", NULL,
      "A property file containing configs to be passed to Admin Client." },
};

/* Kafka's parseOffsetJsonStringWithoutDedup; entries go to out (offset = requested). */
static int dr_parse(const char *path, tools_tp_list *out, char *err, size_t err_size) {
    char *text = NULL;
    SL_TRY(tools_read_file(path, &text, NULL, err, err_size));
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    sl_free(text);
    int rc = SL_OK;
    json_t *version = root ? json_object_get(root, "version") : NULL;
    json_t *parts = root ? json_object_get(root, "partitions") : NULL;
    if (!root || !json_is_object(root)) {
        snprintf(err, err_size, "The input string is not a valid JSON");
        rc = SL_E_INVALID;
    } else if (version && (!json_is_integer(version) || json_integer_value(version) != 1)) {
        snprintf(err, err_size, "Not supported version field value %s",
                 json_is_integer(version) ? "" : "(not a number)");
        if (json_is_integer(version)) {
            snprintf(err, err_size, "Not supported version field value %" JSON_INTEGER_FORMAT,
                     json_integer_value(version));
        }
        rc = SL_E_INVALID;
    } else if (!json_is_array(parts)) {
        snprintf(err, err_size, "Missing partitions field");
        rc = SL_E_INVALID;
    }
    size_t i;
    json_t *p;
    json_array_foreach(rc == SL_OK ? parts : NULL, i, p) {
        json_t *topic = json_object_get(p, "topic"), *partition = json_object_get(p, "partition");
        json_t *offset = json_object_get(p, "offset");
        if (!json_is_string(topic) || !json_is_integer(partition) || !json_is_integer(offset)) {
            snprintf(err, err_size,
                     "Every partition needs \"topic\" (string), \"partition\" and "
                     "\"offset\" (numbers)");
            rc = SL_E_INVALID;
            break;
        }
        const char *name = json_string_value(topic);
        tools_tp_list_add(out, name, strlen(name), (int32_t)json_integer_value(partition),
                          (int64_t)json_integer_value(offset));
    }
    json_decref(root);
    return rc;
}

static int dr_check_duplicates(const tools_tp_list *l, char *err, size_t err_size) {
    char dups[900] = "";
    size_t used = 0;
    for (size_t i = 0; i < l->count; i++) {
        for (size_t k = 0; k < i; k++) {
            if (l->items[k].partition != l->items[i].partition ||
                strcmp(l->items[k].topic, l->items[i].topic) != 0) {
                continue;
            }
            int w = snprintf(dups + used, sizeof(dups) - used, "%s%s-%d", used ? "," : "",
                             l->items[i].topic, l->items[i].partition);
            if (w > 0 && (size_t)w < sizeof(dups) - used) used += (size_t)w;
            break;
        }
    }
    if (!used) return SL_OK;
    snprintf(err, err_size, "Offset json file contains duplicate topic partitions: %s", dups);
    return SL_E_INVALID;
}

/* DeleteRecords for the entries led by leader; results into low (offset, error). */
static void dr_send(tools_kc *kc,
                    int32_t leader,
                    const int32_t *leaders,
                    const tools_tp_list *req_tps,
                    tools_tp_list *low,
                    sl_arena *arena) {
    protocol_DeleteRecordsRequest req;
    protocol_DeleteRecordsRequest_init(&req);
    req.TimeoutMs = DELETE_RECORDS_TIMEOUT_MS;
    req.Topics.items = sl_arena_array(arena, req_tps->count, sizeof(*req.Topics.items));
    for (size_t i = 0; i < req_tps->count; i++) {
        if (leaders[i] != leader) continue;
        protocol_DeleteRecordsRequest_DeleteRecordsTopic *t = &req.Topics.items[req.Topics.count++];
        t->Name = sl_str_c(req_tps->items[i].topic);
        t->Partitions.count = 1;
        t->Partitions.items = sl_arena_alloc(arena, sizeof(*t->Partitions.items));
        t->Partitions.items[0].PartitionIndex = req_tps->items[i].partition;
        t->Partitions.items[0].Offset = req_tps->items[i].offset;
    }
    protocol_DeleteRecordsResponse resp;
    char err[256];
    if (tools_kc_call(kc, leader, 21, -1, &req, &resp, arena, NULL, err, sizeof(err)) != SL_OK) {
        for (size_t i = 0; i < req_tps->count; i++) {
            if (leaders[i] == leader) low->items[i].error = PROTOCOL_ERR_NETWORK_EXCEPTION;
        }
        return;
    }
    for (int32_t i = 0; i < resp.Topics.count; i++) {
        char name[300];
        snprintf(name, sizeof(name), "%.*s", resp.Topics.items[i].Name.len,
                 resp.Topics.items[i].Name.ptr);
        for (int32_t k = 0; k < resp.Topics.items[i].Partitions.count; k++) {
            const protocol_DeleteRecordsResponse_DeleteRecordsPartitionResult *p =
                &resp.Topics.items[i].Partitions.items[k];
            tools_tp *tp = tools_tp_list_find(low, name, p->PartitionIndex);
            if (!tp) continue;
            tp->error = p->ErrorCode;
            tp->offset = p->LowWatermark;
        }
    }
}

/* The leader of every entry (-1 when unknown: the entry fails with its topic's error). */
static int dr_leaders(tools_kc *kc,
                      const tools_tp_list *tps,
                      tools_tp_list *low,
                      int32_t *leaders,
                      sl_arena *arena,
                      char *err,
                      size_t err_size) {
    const char **names = sl_arena_array(arena, tps->count, sizeof(char *));
    for (size_t i = 0; i < tps->count; i++) {
        names[i] = tps->items[i].topic;
    }
    protocol_MetadataResponse md;
    SL_TRY(tools_kc_metadata(kc, names, tps->count, arena, &md, NULL, err, err_size));
    for (size_t i = 0; i < tps->count; i++) {
        leaders[i] = -1;
        low->items[i].error = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        for (int32_t t = 0; t < md.Topics.count; t++) {
            if (!sl_str_eq_c(md.Topics.items[t].Name, tps->items[i].topic)) continue;
            for (int32_t k = 0; k < md.Topics.items[t].Partitions.count; k++) {
                const protocol_MetadataResponse_MetadataResponsePartition *p =
                    &md.Topics.items[t].Partitions.items[k];
                if (p->PartitionIndex != tps->items[i].partition) continue;
                leaders[i] = p->LeaderId;
                low->items[i].error = p->LeaderId < 0 ? PROTOCOL_ERR_LEADER_NOT_AVAILABLE : 0;
            }
        }
    }
    return SL_OK;
}

static int
dr_execute(tools_kc *kc, const tools_tp_list *tps, tools_tp_list *low, char *err, size_t err_size) {
    sl_arena arena;
    sl_arena_init(&arena);
    int32_t *leaders = sl_arena_array(&arena, tps->count ? tps->count : 1, sizeof(int32_t));
    for (size_t i = 0; i < tps->count; i++) {
        tools_tp_list_add(low, tps->items[i].topic, strlen(tps->items[i].topic),
                          tps->items[i].partition, -1);
    }
    int rc = tps->count ? dr_leaders(kc, tps, low, leaders, &arena, err, err_size) : SL_OK;
    for (size_t i = 0; rc == SL_OK && i < tps->count; i++) {
        bool first = leaders[i] >= 0;
        for (size_t k = 0; k < i && first; k++) {
            first = leaders[k] != leaders[i];
        }
        if (first) dr_send(kc, leaders[i], leaders, tps, low, &arena);
    }
    sl_arena_deinit(&arena);
    return rc;
}

static int dr_run(const tools_opts *o) {
    char err[1024];
    tools_tp_list tps, low;
    tools_tp_list_init(&tps);
    tools_tp_list_init(&low);
    tools_kc *kc = NULL;
    int exit_code = TOOLS_EXIT_FAIL;
    if (dr_parse(tools_opts_str(o, "offset-json-file"), &tps, err, sizeof(err)) != SL_OK ||
        dr_check_duplicates(&tps, err, sizeof(err)) != SL_OK ||
        tools_kc_open(tools_opts_str(o, "bootstrap-server"), tools_opts_str(o, "command-config"),
                      "delete-records", &kc, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "Error: %s\n", err);
        goto out;
    }
    printf("Executing records delete operation\n");
    fflush(stdout);
    if (dr_execute(kc, &tps, &low, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "Error: %s\n", err);
        goto out;
    }
    printf("Records delete operation completed:\n");
    exit_code = TOOLS_EXIT_OK;
    for (size_t i = 0; i < low.count; i++) {
        const tools_tp *tp = &low.items[i];
        if (tp->error == 0) {
            printf("partition: %s-%d\tlow_watermark: %" PRId64 "\n", tp->topic, tp->partition,
                   tp->offset);
        } else {
            printf("partition: %s-%d\terror: %s: %s\n", tp->topic, tp->partition,
                   tools_error_class(tp->error), tools_error_message(tp->error));
            exit_code = TOOLS_EXIT_FAIL;
        }
    }
out:
    tools_kc_close(kc);
    tools_tp_list_deinit(&tps);
    tools_tp_list_deinit(&low);
    return exit_code;
}

const tools_command tools_cmd_delete_records = {
    .name = "delete-records",
    .summary = "delete records of partitions up to an offset",
    .description = "This tool helps to delete records of the given partitions down to the "
                   "specified offset.",
    .opts = dr_opts,
    .opt_count = sizeof(dr_opts) / sizeof(dr_opts[0]),
    .run = dr_run,
};
