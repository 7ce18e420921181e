/* tools_groups_reset.c — `sluice consumer-groups --reset-offsets`: Kafka's
 * GroupOffsetsResetter. For each group (which must be inactive: Empty, Dead or unknown),
 * compute new offsets for the scope (--topic t, --topic t:0,1, --all-topics, or the
 * --from-file plan) with one scenario:
 *
 *   --to-earliest / --to-latest       log start / end offset (ListOffsets)
 *   --to-current                      the committed offset (end offset when none)
 *   --to-offset N / --shift-by N      N / committed + N, clamped to [start, end]
 *   --to-datetime T / --by-duration D the first offset at or after the time (end offset
 *                                     for a partition without such a record)
 *   --from-file F                     CSV "topic,partition,offset" or
 *                                     "group,topic,partition,offset", clamped
 *
 * then print them (GROUP TOPIC PARTITION NEW-OFFSET, or CSV with --export) and, with
 * --execute, commit them (OffsetCommit with generation -1, as Kafka's admin client). */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RESET_NAME_WIDTH 15

static const char *const reset_scenarios[] = { "to-offset",   "shift-by",    "to-datetime",
                                               "by-duration", "to-earliest", "to-latest",
                                               "to-current",  "from-file" };
#define RESET_SCENARIO_COUNT (sizeof(reset_scenarios) / sizeof(reset_scenarios[0]))

typedef struct reset_ctx {
    tools_kc *kc;
    const tools_opts *o;
    sl_arena arena;
    char err[1024];
    tools_tp_list plan; /* --from-file: topic "group\x01topic" entries */
} reset_ctx;

/* One group's outcome. */
typedef struct reset_result {
    const char *group;
    tools_tp_list offsets;
} reset_result;

static void reset_error(const char *msg) {
    printf("\nError: %s\n", msg);
}

/* ---- scope ---- */

static int reset_parse_topic_arg(reset_ctx *c, const char *arg, tools_tp_list *out) {
    const char *colon = strchr(arg, ':');
    if (!colon) return tools_topic_partitions(c->kc, &arg, 1, out, c->err, sizeof(c->err));
    if (strchr(colon + 1, ':')) {
        snprintf(c->err, sizeof(c->err),
                 "Invalid topic arg '%s', expected topic name and partitions", arg);
        return SL_E_INVALID;
    }
    char *copy = sl_arena_strndup(&c->arena, colon + 1, strlen(colon + 1));
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int32_t partition = 0;
        if (!tools_parse_i32(p, &partition)) {
            snprintf(c->err, sizeof(c->err), "Invalid partition '%s' specified in topic arg '%s''",
                     p, arg);
            return SL_E_INVALID;
        }
        tools_tp_list_add(out, arg, (size_t)(colon - arg), partition, -1);
    }
    return SL_OK;
}

/* checkAllTopicPartitionsValid: every partition exists and has a leader. */
static int reset_check_partitions(reset_ctx *c, const tools_tp_list *parts) {
    tools_tp_list existing;
    tools_tp_list_init(&existing);
    const char **topics =
        sl_arena_array(&c->arena, parts->count ? parts->count : 1, sizeof(char *));
    for (size_t i = 0; i < parts->count; i++) {
        topics[i] = parts->items[i].topic;
    }
    int rc = parts->count ? tools_topic_partitions(c->kc, topics, parts->count, &existing, c->err,
                                                   sizeof(c->err))
                          : SL_OK;
    char missing[2048] = "";
    size_t used = 0;
    for (size_t i = 0; rc == SL_OK && i < parts->count; i++) {
        if (tools_tp_list_find(&existing, parts->items[i].topic, parts->items[i].partition))
            continue;
        int w = snprintf(missing + used, sizeof(missing) - used, "%s%s-%d", used ? "," : "",
                         parts->items[i].topic, parts->items[i].partition);
        if (w > 0 && (size_t)w < sizeof(missing) - used) used += (size_t)w;
    }
    if (rc == SL_OK && used) {
        snprintf(c->err, sizeof(c->err), "%s: The partitions \"%.800s\" do not exist",
                 tools_error_class(PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION), missing);
        rc = SL_E_NOT_FOUND;
    }
    tools_tp_list_deinit(&existing);
    return rc;
}

static int reset_scope(reset_ctx *c, const char *group, int32_t coordinator, tools_tp_list *out) {
    if (tools_opts_has(c->o, "all-topics")) {
        return coordinator < 0 ? SL_OK
                               : tools_group_fetch_offsets(c->kc, coordinator, group, out, c->err,
                                                           sizeof(c->err));
    }
    const tools_opt_value *topics = tools_opts_get(c->o, "topic");
    for (size_t i = 0; i < topics->list_count; i++) {
        SL_TRY(reset_parse_topic_arg(c, topics->list[i], out));
    }
    return SL_OK;
}

/* ---- scenarios ---- */

/* Clamp each requested offset to [log start, log end] (checkOffsetsRange). */
static int reset_clamp(reset_ctx *c, tools_tp_list *parts) {
    tools_tp_list start, end;
    tools_tp_list_init(&start);
    tools_tp_list_init(&end);
    for (size_t i = 0; i < parts->count; i++) {
        tools_tp_list_add(&start, parts->items[i].topic, strlen(parts->items[i].topic),
                          parts->items[i].partition, -1);
        tools_tp_list_add(&end, parts->items[i].topic, strlen(parts->items[i].topic),
                          parts->items[i].partition, -1);
    }
    int rc = tools_list_offsets(c->kc, &start, TOOLS_OFFSET_EARLIEST, c->err, sizeof(c->err));
    if (rc == SL_OK)
        rc = tools_list_offsets(c->kc, &end, TOOLS_OFFSET_LATEST, c->err, sizeof(c->err));
    for (size_t i = 0; rc == SL_OK && i < parts->count; i++) {
        tools_tp *tp = &parts->items[i];
        int64_t hi = end.items[i].offset, lo = start.items[i].offset;
        if (hi >= 0 && tp->offset > hi) {
            fprintf(stderr,
                    "WARN New offset (%" PRId64 ") is higher than latest offset for topic "
                    "partition %s-%d. Value will be set to %" PRId64 "\n",
                    tp->offset, tp->topic, tp->partition, hi);
            tp->offset = hi;
        } else if (lo >= 0 && tp->offset < lo) {
            fprintf(stderr,
                    "WARN New offset (%" PRId64 ") is lower than earliest offset for topic "
                    "partition %s-%d. Value will be set to %" PRId64 "\n",
                    tp->offset, tp->topic, tp->partition, lo);
            tp->offset = lo;
        }
    }
    tools_tp_list_deinit(&start);
    tools_tp_list_deinit(&end);
    return rc;
}

static int reset_log_offsets(reset_ctx *c, tools_tp_list *parts, int64_t spec, const char *what) {
    SL_TRY(tools_list_offsets(c->kc, parts, spec, c->err, sizeof(c->err)));
    for (size_t i = 0; i < parts->count; i++) {
        if (parts->items[i].offset >= 0) continue;
        snprintf(c->err, sizeof(c->err), "Error getting %s offset of topic partition: %s-%d", what,
                 parts->items[i].topic, parts->items[i].partition);
        return SL_E_STATE;
    }
    return SL_OK;
}

/* By time: the first offset at or after ts, else (empty partition) the log end offset. */
static int reset_by_time(reset_ctx *c, tools_tp_list *parts, int64_t ts) {
    SL_TRY(tools_list_offsets(c->kc, parts, ts, c->err, sizeof(c->err)));
    tools_tp_list fallback;
    tools_tp_list_init(&fallback);
    for (size_t i = 0; i < parts->count; i++) {
        if (parts->items[i].offset >= 0 || parts->items[i].error != 0) continue;
        printf(
            "\nWarn: Partition %d from topic %s is empty. Falling back to latest known offset.\n",
            parts->items[i].partition, parts->items[i].topic);
        tools_tp_list_add(&fallback, parts->items[i].topic, strlen(parts->items[i].topic),
                          parts->items[i].partition, -1);
    }
    int rc = tools_list_offsets(c->kc, &fallback, TOOLS_OFFSET_LATEST, c->err, sizeof(c->err));
    for (size_t i = 0; rc == SL_OK && i < fallback.count; i++) {
        tools_tp *tp =
            tools_tp_list_find(parts, fallback.items[i].topic, fallback.items[i].partition);
        tp->offset = fallback.items[i].offset;
    }
    for (size_t i = 0; rc == SL_OK && i < parts->count; i++) {
        if (parts->items[i].offset >= 0) continue;
        snprintf(c->err, sizeof(c->err),
                 "Error getting offset by timestamp of topic partition: %s-%d",
                 parts->items[i].topic, parts->items[i].partition);
        rc = SL_E_STATE;
    }
    tools_tp_list_deinit(&fallback);
    return rc;
}

static int reset_from_committed(
    reset_ctx *c, const char *group, int32_t coordinator, tools_tp_list *parts, bool shift) {
    tools_tp_list committed, missing;
    tools_tp_list_init(&committed);
    tools_tp_list_init(&missing);
    int rc = coordinator < 0 ? SL_OK
                             : tools_group_fetch_offsets(c->kc, coordinator, group, &committed,
                                                         c->err, sizeof(c->err));
    for (size_t i = 0; rc == SL_OK && i < parts->count; i++) {
        tools_tp *tp = &parts->items[i];
        const tools_tp *cur = tools_tp_list_find(&committed, tp->topic, tp->partition);
        if (shift && !cur) {
            snprintf(c->err, sizeof(c->err),
                     "Cannot shift offset for partition %s-%d since there is "
                     "no current committed offset",
                     tp->topic, tp->partition);
            rc = SL_E_INVALID;
        } else if (shift) {
            tp->offset = cur->offset + tools_opts_int(c->o, "shift-by");
        } else if (cur) {
            tp->offset = cur->offset;
        } else {
            tools_tp_list_add(&missing, tp->topic, strlen(tp->topic), tp->partition, -1);
        }
    }
    if (rc == SL_OK && missing.count)
        rc = reset_log_offsets(c, &missing, TOOLS_OFFSET_LATEST, "ending");
    for (size_t i = 0; rc == SL_OK && i < missing.count; i++) {
        tools_tp_list_find(parts, missing.items[i].topic, missing.items[i].partition)->offset =
            missing.items[i].offset;
    }
    if (rc == SL_OK && shift) rc = reset_clamp(c, parts);
    tools_tp_list_deinit(&committed);
    tools_tp_list_deinit(&missing);
    return rc;
}

/* --to-datetime: Kafka's Utils.getDateTime (no zone = UTC). */
static int reset_datetime(reset_ctx *c, int64_t *ts_out) {
    const char *text = tools_opts_str(c->o, "to-datetime");
    if (!strchr(text, 'T')) {
        snprintf(c->err, sizeof(c->err),
                 "java.text.ParseException: Error parsing timestamp. It does "
                 "not contain a 'T' according to ISO8601 format");
        return SL_E_INVALID;
    }
    if (sl_time_parse_iso(text, ts_out) != 0) {
        snprintf(c->err, sizeof(c->err), "java.text.ParseException: Unparseable date: \"%s\"",
                 text);
        return SL_E_INVALID;
    }
    return SL_OK;
}

static int
reset_compute(reset_ctx *c, const char *group, int32_t coordinator, tools_tp_list *parts) {
    const tools_opts *o = c->o;
    if (tools_opts_has(o, "to-offset")) {
        for (size_t i = 0; i < parts->count; i++) {
            parts->items[i].offset = tools_opts_int(o, "to-offset");
        }
        return reset_clamp(c, parts);
    }
    if (tools_opts_has(o, "to-earliest"))
        return reset_log_offsets(c, parts, TOOLS_OFFSET_EARLIEST, "starting");
    if (tools_opts_has(o, "to-latest"))
        return reset_log_offsets(c, parts, TOOLS_OFFSET_LATEST, "ending");
    if (tools_opts_has(o, "shift-by"))
        return reset_from_committed(c, group, coordinator, parts, true);
    if (tools_opts_has(o, "to-current"))
        return reset_from_committed(c, group, coordinator, parts, false);
    int64_t ts = 0;
    if (tools_opts_has(o, "to-datetime")) {
        SL_TRY(reset_datetime(c, &ts));
        return reset_by_time(c, parts, ts);
    }
    int64_t ms = 0;
    if (!tools_parse_duration_ms(tools_opts_str(o, "by-duration"), &ms)) {
        snprintf(c->err, sizeof(c->err),
                 "java.time.format.DateTimeParseException: Text cannot be "
                 "parsed to a Duration");
        return SL_E_INVALID;
    }
    return reset_by_time(c, parts, sl_wall_ms() - ms);
}

/* ---- --from-file ---- */

/* Lines "topic,partition,offset" (one --group) or "group,topic,partition,offset". */
static int reset_load_plan(reset_ctx *c) {
    char *text = NULL;
    SL_TRY(tools_read_file(tools_opts_str(c->o, "from-file"), &text, NULL, c->err, sizeof(c->err)));
    bool single = tools_opts_get(c->o, "group")->list_count == 1;
    char *save = NULL;
    int rc = SL_OK;
    for (char *line = strtok_r(text, "\n", &save); line && rc == SL_OK;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[5] = { NULL };
        int n = 0;
        char *save2 = NULL;
        for (char *tok = strtok_r(line, ",\r", &save2); tok && n < 5;
             tok = strtok_r(NULL, ",\r", &save2)) {
            f[n++] = tok;
        }
        if (n == 0) continue;
        int32_t partition = 0;
        int64_t offset = 0;
        bool three = n == 3 && single;
        const char *group = three ? tools_opts_get(c->o, "group")->list[0] : f[0];
        const char *topic = three ? f[0] : f[1];
        if ((n != 3 || !single) && n != 4) {
            rc = SL_E_INVALID;
        } else if (!tools_parse_i32(three ? f[1] : f[2], &partition) ||
                   !tools_parse_i64(three ? f[2] : f[3], &offset)) {
            rc = SL_E_INVALID;
        } else {
            char key[600];
            snprintf(key, sizeof(key), "%s%c%s", group, 1, topic);
            tools_tp_list_add(&c->plan, key, strlen(key), partition, offset);
        }
        if (rc != SL_OK) snprintf(c->err, sizeof(c->err), "Invalid line in reset plan: %s", line);
    }
    sl_free(text);
    return rc;
}

static int reset_plan_for(reset_ctx *c, const char *group, tools_tp_list *parts) {
    size_t glen = strlen(group);
    for (size_t i = 0; i < c->plan.count; i++) {
        const char *key = c->plan.items[i].topic;
        if (strncmp(key, group, glen) != 0 || key[glen] != 1) continue;
        tools_tp_list_add(parts, key + glen + 1, strlen(key + glen + 1), c->plan.items[i].partition,
                          c->plan.items[i].offset);
    }
    if (parts->count == 0) {
        printf("\nError: No reset plan for group %s found.\n", group);
        return SL_OK;
    }
    SL_TRY(reset_check_partitions(c, parts));
    return reset_clamp(c, parts);
}

/* ---- one group ---- */

/* Group state: Empty, Dead or unknown groups may be reset. *coordinator_out is -1 when the
 * cluster cannot describe groups. Returns SL_E_STATE for an active group (message printed). */
static int reset_group_state(reset_ctx *c, const char *group, int32_t *coordinator_out) {
    protocol_DescribeGroupsResponse_DescribedGroup *g = NULL;
    int rc =
        tools_group_describe(c->kc, group, &c->arena, &g, coordinator_out, c->err, sizeof(c->err));
    if (rc == SL_E_UNSUPPORTED) {
        fprintf(stderr,
                "WARN The cluster does not support DescribeGroups; assuming group '%s' is "
                "inactive.\n",
                group);
        return tools_kc_find_coordinator(c->kc, group, coordinator_out, c->err, sizeof(c->err));
    }
    SL_TRY(rc);
    if (g->ErrorCode == PROTOCOL_ERR_GROUP_ID_NOT_FOUND || sl_str_eq_c(g->GroupState, "Empty") ||
        sl_str_eq_c(g->GroupState, "Dead")) {
        return SL_OK;
    }
    printf("\nError: Assignments can only be reset if the group '%s' is inactive, but the current "
           "state is %.*s.\n",
           group, g->GroupState.len, g->GroupState.ptr);
    return SL_E_STATE;
}

static int reset_group(reset_ctx *c, const char *group, tools_tp_list *parts) {
    int32_t coordinator = -1;
    int rc = reset_group_state(c, group, &coordinator);
    if (rc == SL_E_STATE && !c->err[0]) return rc;
    if (rc == SL_OK && tools_opts_has(c->o, "from-file")) {
        rc = reset_plan_for(c, group, parts);
    } else if (rc == SL_OK) {
        rc = reset_scope(c, group, coordinator, parts);
        if (rc == SL_OK) rc = reset_check_partitions(c, parts);
        if (rc == SL_OK) rc = reset_compute(c, group, coordinator, parts);
    }
    if (rc == SL_OK && tools_opts_has(c->o, "execute") && parts->count) {
        rc = tools_group_commit_offsets(c->kc, coordinator, group, parts, c->err, sizeof(c->err));
    }
    if (rc != SL_OK) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Executing consumer group command failed due to %s", c->err);
        reset_error(msg);
    }
    return rc;
}

/* ---- output ---- */

static void reset_print(const reset_result *results, size_t n, bool single_group, bool export_csv) {
    if (export_csv) {
        for (size_t g = 0; g < n; g++) {
            for (size_t i = 0; i < results[g].offsets.count; i++) {
                const tools_tp *tp = &results[g].offsets.items[i];
                if (!single_group) printf("%s,", results[g].group);
                printf("%s,%d,%" PRId64 "\n", tp->topic, tp->partition, tp->offset);
            }
        }
        return;
    }
    int gw = RESET_NAME_WIDTH, tw = RESET_NAME_WIDTH;
    for (size_t g = 0; g < n; g++) {
        if ((int)strlen(results[g].group) > gw) gw = (int)strlen(results[g].group);
        for (size_t i = 0; i < results[g].offsets.count; i++) {
            if ((int)strlen(results[g].offsets.items[i].topic) > tw)
                tw = (int)strlen(results[g].offsets.items[i].topic);
        }
    }
    if (n > 0) printf("\n%-*s %-*s %-10s %s", gw, "GROUP", tw, "TOPIC", "PARTITION", "NEW-OFFSET");
    for (size_t g = 0; g < n; g++) {
        for (size_t i = 0; i < results[g].offsets.count; i++) {
            const tools_tp *tp = &results[g].offsets.items[i];
            printf("\n%-*s %-*s %-10d %" PRId64, gw, results[g].group, tw, tp->topic, tp->partition,
                   tp->offset);
        }
    }
    printf("\n");
}

static int reset_check_args(const tools_opts *o) {
    int scenarios = 0;
    for (size_t i = 0; i < RESET_SCENARIO_COUNT; i++) {
        scenarios += tools_opts_has(o, reset_scenarios[i]);
    }
    if (scenarios != 1) {
        fprintf(stderr,
                "Option [reset-offsets] requires one of the following scenarios: [to-offset], "
                "[shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], "
                "[to-current], [from-file]\n");
        return TOOLS_EXIT_USAGE;
    }
    if (!tools_opts_has(o, "all-topics") && !tools_opts_has(o, "topic") &&
        !tools_opts_has(o, "from-file")) {
        fprintf(stderr, "One of the reset scopes should be defined: --all-topics, --topic.\n");
        return TOOLS_EXIT_USAGE;
    }
    if (!tools_opts_has(o, "dry-run") && !tools_opts_has(o, "execute")) {
        fprintf(stderr,
                "WARN: No action will be performed as the --execute option is missing.In a "
                "future major release, the default behavior of this command will be to "
                "prompt the user before executing the reset rather than doing a dry run. "
                "You should add the --dry-run option explicitly if you are scripting this "
                "command and want to keep the current default behavior without prompting.\n");
    }
    return TOOLS_EXIT_OK;
}

/* Group names: --group values, or every consumer group with --all-groups (ListGroups). */
static int reset_groups(reset_ctx *c, const char ***out, size_t *n_out) {
    const tools_opt_value *v = tools_opts_get(c->o, "group");
    if (!tools_opts_has(c->o, "all-groups")) {
        *out = v->list;
        *n_out = v->list_count;
        return SL_OK;
    }
    protocol_MetadataResponse md;
    SL_TRY(tools_kc_metadata(c->kc, NULL, 0, &c->arena, &md, NULL, c->err, sizeof(c->err)));
    size_t cap = 1024, n = 0;
    const char **names = sl_arena_array(&c->arena, cap, sizeof(char *));
    for (int32_t b = 0; b < md.Brokers.count; b++) {
        protocol_ListGroupsRequest req;
        protocol_ListGroupsRequest_init(&req);
        protocol_ListGroupsResponse resp;
        SL_TRY(tools_kc_call(c->kc, md.Brokers.items[b].NodeId, 16, 4, &req, &resp, &c->arena, NULL,
                             c->err, sizeof(c->err)));
        for (int32_t i = 0; i < resp.Groups.count && n < cap; i++) {
            const protocol_ListGroupsResponse_ListedGroup *g = &resp.Groups.items[i];
            if (g->ProtocolType.len > 0 && !sl_str_eq_c(g->ProtocolType, "consumer")) continue;
            names[n++] = sl_arena_strndup(&c->arena, g->GroupId.ptr, (size_t)g->GroupId.len);
        }
    }
    *out = names;
    *n_out = n;
    return SL_OK;
}

int tools_groups_reset_offsets(tools_kc *kc, const tools_opts *o) {
    int check = reset_check_args(o);
    if (check != TOOLS_EXIT_OK) return check;
    reset_ctx c = { .kc = kc, .o = o };
    sl_arena_init(&c.arena);
    tools_tp_list_init(&c.plan);
    const char **groups = NULL;
    size_t n = 0;
    int rc = reset_groups(&c, &groups, &n);
    if (rc == SL_OK && tools_opts_has(o, "from-file")) rc = reset_load_plan(&c);
    if (rc != SL_OK) {
        reset_error(c.err);
        n = 0;
    }
    reset_result *results = sl_calloc(n ? n : 1, sizeof(*results));
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        c.err[0] = '\0';
        reset_result *r = &results[done];
        r->group = groups[i];
        tools_tp_list_init(&r->offsets);
        if (reset_group(&c, groups[i], &r->offsets) != SL_OK) {
            tools_tp_list_deinit(&r->offsets);
            rc = SL_E_STATE;
            continue;
        }
        tools_tp_list_sort(&r->offsets);
        done++;
    }
    if (n > 0)
        reset_print(results, done, tools_opts_get(o, "group")->list_count == 1,
                    tools_opts_has(o, "export"));
    for (size_t i = 0; i < done; i++) {
        tools_tp_list_deinit(&results[i].offsets);
    }
    sl_free(results);
    tools_tp_list_deinit(&c.plan);
    sl_arena_deinit(&c.arena);
    return rc == SL_OK ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}
