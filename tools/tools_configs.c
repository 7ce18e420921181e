/* tools_configs.c — `sluice configs`: describe and change topic and broker configs, with
 * the options and output of Kafka's kafka-configs.sh (ConfigCommand):
 *
 *   Dynamic configs for topic test are:
 *     min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=2,
 * DEFAULT_CONFIG:min.insync.replicas=1} All configs for broker 1 are:
 *     ...
 *   Completed updating config for topic test.
 *
 * Entities: --topic X / --broker N / --broker-defaults / --broker-logger N, or
 * --entity-type topics|brokers|broker-loggers with --entity-name X or --entity-default.
 * --add-config k=v,k2=[a,b] (commas inside [] belong to the value), --add-config-file,
 * --delete-config k1,k2. Changes use IncrementalAlterConfigs; a broker's configs are asked of
 * that broker (DescribeConfigs / IncrementalAlterConfigs are per-broker for BROKER
 * resources), topic and cluster-default configs of any broker. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

#define CONFIGS_TYPE_TOPIC         2
#define CONFIGS_TYPE_BROKER        4
#define CONFIGS_TYPE_BROKER_LOGGER 8
#define CONFIGS_OP_SET             0
#define CONFIGS_OP_DELETE          1
#define CONFIGS_MAX_ENTRIES        1024 /* configs added or deleted in one run */

static const tools_opt_def configs_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "server to connect to", NULL,
      "The Kafka servers to connect to." },
    { "bootstrap-controller", TOOLS_OPT_STRING, 0, "controller to connect to", NULL,
      "The Kafka controllers to connect to." },
    { "command-config", TOOLS_OPT_STRING, 0, "command config property file", NULL,
      "Property file containing configs to be passed to Admin Client." },
    { "alter", TOOLS_OPT_FLAG, 0, NULL, NULL, "Alter the configuration for the entity." },
    { "describe", TOOLS_OPT_FLAG, 0, NULL, NULL, "List configs for the given entity." },
    { "all", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "List all configs for the given entity, including static configs if available." },
    { "entity-type", TOOLS_OPT_LIST, 0, "topics/brokers/broker-loggers", NULL,
      "Type of entity (topics/brokers/broker-loggers)." },
    { "entity-name", TOOLS_OPT_LIST, 0, "entity name", NULL,
      "Name of entity (topic name/broker id)." },
    { "entity-default", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Default entity name for brokers (applies to corresponding entity type in command line)." },
    { "topic", TOOLS_OPT_STRING, 0, "topic", NULL,
      "The topic's name. Same as --entity-type topics --entity-name <topic>." },
    { "broker", TOOLS_OPT_STRING, 0, "broker-id", NULL,
      "The broker's ID. Same as --entity-type brokers --entity-name <broker-id>." },
    { "broker-defaults", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "The config defaults for all brokers. Same as --entity-type brokers --entity-default." },
    { "broker-logger", TOOLS_OPT_STRING, 0, "broker-id", NULL,
      "The broker's ID for its logger config. Same as --entity-type broker-loggers "
      "--entity-name <broker-id>." },
    { "add-config", TOOLS_OPT_STRING, 0, "k1=v1,k2=[v1,v2,v2],k3=v3", NULL,
      "Key Value pairs of configs to add. Square brackets can be used to group values which "
      "contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'." },
    { "add-config-file", TOOLS_OPT_STRING, 0, "file", NULL,
      "Path to a properties file with configs to add." },
    { "delete-config", TOOLS_OPT_LIST, 0, "config name", NULL, "config keys to remove 'k1,k2'" },
    { "force", TOOLS_OPT_FLAG, 0, NULL, NULL, "Suppress console prompts" },
};

typedef struct configs_ctx {
    const tools_opts *o;
    tools_kc *kc;
    sl_arena arena;
    const char *type; /* "topics", "brokers", "broker-loggers" */
    const char *name; /* NULL when every entity is described; "" for the default */
    char err[1024];
} configs_ctx;

static void configs_error(const configs_ctx *c, const char *msg) {
    (void)c;
    fprintf(stderr, "%s\n", msg);
}

/* ---- entity selection ---- */

static int configs_entity(configs_ctx *c) {
    const tools_opts *o = c->o;
    const tools_opt_value *types = tools_opts_get(o, "entity-type");
    const tools_opt_value *names = tools_opts_get(o, "entity-name");
    int shortcuts = tools_opts_has(o, "topic") + tools_opts_has(o, "broker") +
                    tools_opts_has(o, "broker-defaults") + tools_opts_has(o, "broker-logger");
    if (shortcuts > 1 || (shortcuts && types->list_count)) {
        fprintf(stderr, "Only one entity type may be specified\n");
        return SL_E_INVALID;
    }
    if (tools_opts_has(o, "topic")) {
        c->type = "topics";
        c->name = tools_opts_str(o, "topic");
    } else if (tools_opts_has(o, "broker")) {
        c->type = "brokers";
        c->name = tools_opts_str(o, "broker");
    } else if (tools_opts_has(o, "broker-defaults")) {
        c->type = "brokers";
        c->name = "";
    } else if (tools_opts_has(o, "broker-logger")) {
        c->type = "broker-loggers";
        c->name = tools_opts_str(o, "broker-logger");
    } else if (types->list_count == 1) {
        c->type = types->list[0];
        c->name = names->list_count                     ? names->list[0]
                  : tools_opts_has(o, "entity-default") ? ""
                                                        : NULL;
    } else {
        fprintf(stderr, types->list_count ? "Only one entity type may be specified\n"
                                          : "At least one entity type must be specified\n");
        return SL_E_INVALID;
    }
    if (strcmp(c->type, "topics") != 0 && strcmp(c->type, "brokers") != 0 &&
        strcmp(c->type, "broker-loggers") != 0) {
        fprintf(stderr,
                "Invalid entity type %s, the entity type must be one of topics, brokers, "
                "broker-loggers\n",
                c->type);
        return SL_E_INVALID;
    }
    if (c->name && c->name[0] && strcmp(c->type, "topics") != 0) {
        int32_t id = 0;
        if (!tools_parse_i32(c->name, &id)) {
            fprintf(stderr, "The entity name for %s must be a valid integer broker id, found: %s\n",
                    c->type, c->name);
            return SL_E_INVALID;
        }
    }
    if (c->name && !c->name[0] && strcmp(c->type, "topics") == 0) {
        fprintf(stderr, "--entity-default is not supported for topics\n");
        return SL_E_INVALID;
    }
    return SL_OK;
}

static int configs_check_args(configs_ctx *c) {
    const tools_opts *o = c->o;
    if (tools_opts_has(o, "alter") + tools_opts_has(o, "describe") != 1) {
        fprintf(stderr, "Command must include exactly one action: --describe, --alter\n");
        return TOOLS_EXIT_USAGE;
    }
    if (tools_opts_has(o, "bootstrap-server") == tools_opts_has(o, "bootstrap-controller")) {
        fprintf(stderr, "Only one of --bootstrap-server or --bootstrap-controller must be "
                        "specified\n");
        return TOOLS_EXIT_USAGE;
    }
    if (configs_entity(c) != SL_OK) return TOOLS_EXIT_USAGE;
    if (tools_opts_has(o, "alter")) {
        if (!c->name) {
            fprintf(stderr, "An entity name must be specified with --alter of %s\n", c->type);
            return TOOLS_EXIT_USAGE;
        }
        if (!tools_opts_has(o, "add-config") && !tools_opts_has(o, "add-config-file") &&
            !tools_opts_has(o, "delete-config")) {
            fprintf(stderr, "At least one of --add-config, --add-config-file, or --delete-config "
                            "must be specified with --alter\n");
            return TOOLS_EXIT_USAGE;
        }
    } else if (tools_opts_has(o, "add-config") || tools_opts_has(o, "delete-config")) {
        fprintf(stderr, "Option \"[add-config]\" / \"[delete-config]\" can only be used with "
                        "\"[alter]\"\n");
        return TOOLS_EXIT_USAGE;
    }
    return TOOLS_EXIT_OK;
}

/* ---- describe ---- */

static const char *configs_source_name(int8_t source) {
    switch (source) {
    case 1:
        return "DYNAMIC_TOPIC_CONFIG";
    case 2:
        return "DYNAMIC_BROKER_CONFIG";
    case 3:
        return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case 4:
        return "STATIC_BROKER_CONFIG";
    case 5:
        return "DEFAULT_CONFIG";
    case 6:
        return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case 7:
        return "DYNAMIC_CLIENT_METRICS_CONFIG";
    case 8:
        return "DYNAMIC_GROUP_CONFIG";
    default:
        return "UNKNOWN";
    }
}

static int8_t configs_resource_type(const char *type) {
    if (strcmp(type, "topics") == 0) return CONFIGS_TYPE_TOPIC;
    if (strcmp(type, "brokers") == 0) return CONFIGS_TYPE_BROKER;
    return CONFIGS_TYPE_BROKER_LOGGER;
}

/* Broker resources are answered by that broker; the rest by any. */
static int32_t configs_node(const char *type, const char *name) {
    int32_t id = 0;
    if (strcmp(type, "topics") != 0 && name[0] && tools_parse_i32(name, &id)) return id;
    return TOOLS_KC_ANY;
}

/* DescribeConfigs of one entity with synonyms; *result_out points into the arena. */
static int
configs_fetch(configs_ctx *c,
              const char *name,
              const protocol_DescribeConfigsResponse_DescribeConfigsResult **result_out) {
    protocol_DescribeConfigsRequest_DescribeConfigsResource res;
    protocol_DescribeConfigsRequest_DescribeConfigsResource_init(&res);
    res.ResourceType = configs_resource_type(c->type);
    res.ResourceName = sl_str_c(name);
    res.ConfigurationKeys.count = -1;
    protocol_DescribeConfigsRequest req;
    protocol_DescribeConfigsRequest_init(&req);
    req.Resources.count = 1;
    req.Resources.items = &res;
    req.IncludeSynonyms = true;
    protocol_DescribeConfigsResponse *resp = sl_arena_alloc(&c->arena, sizeof(*resp));
    SL_TRY(tools_kc_call(c->kc, configs_node(c->type, name), 32, -1, &req, resp, &c->arena, NULL,
                         c->err, sizeof(c->err)));
    if (resp->Results.count < 1) {
        snprintf(c->err, sizeof(c->err), "%s",
                 tools_error_message(PROTOCOL_ERR_UNKNOWN_SERVER_ERROR));
        return SL_E_STATE;
    }
    const protocol_DescribeConfigsResponse_DescribeConfigsResult *r = &resp->Results.items[0];
    if (r->ErrorCode != 0) {
        tools_error_text(r->ErrorCode, r->ErrorMessage.ptr, r->ErrorMessage.len, c->err,
                         sizeof(c->err));
        return SL_E_STATE;
    }
    *result_out = r;
    return SL_OK;
}

static int config_entry_cmp(const void *a, const void *b) {
    const protocol_DescribeConfigsResponse_DescribeConfigsResourceResult *x = a, *y = b;
    int32_t n = x->Name.len < y->Name.len ? x->Name.len : y->Name.len;
    int r = memcmp(x->Name.ptr, y->Name.ptr, (size_t)(n > 0 ? n : 0));
    return r ? r : (x->Name.len > y->Name.len) - (x->Name.len < y->Name.len);
}

static int8_t configs_dynamic_source(const char *type, const char *name) {
    if (strcmp(type, "topics") == 0) return 1;
    if (strcmp(type, "broker-loggers") == 0) return -1; /* every entry */
    return name[0] ? 2 : 3;
}

static void
configs_print_entry(const protocol_DescribeConfigsResponse_DescribeConfigsResourceResult *e) {
    printf("  %.*s=%.*s sensitive=%s synonyms={", e->Name.len, e->Name.ptr,
           e->Value.len >= 0 ? e->Value.len : 4, e->Value.len >= 0 ? e->Value.ptr : "null",
           e->IsSensitive ? "true" : "false");
    for (int32_t s = 0; s < e->Synonyms.count; s++) {
        const protocol_DescribeConfigsResponse_DescribeConfigsSynonym *syn = &e->Synonyms.items[s];
        printf("%s%s:%.*s=%.*s", s ? ", " : "", configs_source_name(syn->Source), syn->Name.len,
               syn->Name.ptr, syn->Value.len >= 0 ? syn->Value.len : 4,
               syn->Value.len >= 0 ? syn->Value.ptr : "null");
    }
    printf("}\n");
}

static int configs_describe_one(configs_ctx *c, const char *name, bool all) {
    const protocol_DescribeConfigsResponse_DescribeConfigsResult *r = NULL;
    SL_TRY(configs_fetch(c, name, &r));
    if (!name[0]) {
        printf("Default configs for %s in the cluster are:\n", c->type);
    } else {
        printf("%s configs for %.*s %s are:\n", all ? "All" : "Dynamic", (int)strlen(c->type) - 1,
               c->type, name);
    }
    protocol_DescribeConfigsResponse_DescribeConfigsResourceResult *items = r->Configs.items;
    qsort(items, (size_t)r->Configs.count, sizeof(*items), config_entry_cmp);
    int8_t dynamic = configs_dynamic_source(c->type, name);
    for (int32_t i = 0; i < r->Configs.count; i++) {
        if (!all && dynamic >= 0 && items[i].ConfigSource != dynamic) continue;
        configs_print_entry(&items[i]);
    }
    return SL_OK;
}

/* The names to describe: the one given, or every topic / every broker plus the default.
 * *missing_out: a named entity that does not exist; known (≥ 1 KiB) lists the brokers. */
static int configs_entities(configs_ctx *c,
                            char ***names_out,
                            size_t *count_out,
                            bool *missing_out,
                            char *known,
                            size_t known_size) {
    protocol_MetadataResponse md;
    SL_TRY(tools_kc_metadata(c->kc, NULL, 0, &c->arena, &md, NULL, c->err, sizeof(c->err)));
    bool topics = strcmp(c->type, "topics") == 0;
    int32_t count = topics ? md.Topics.count : md.Brokers.count;
    char **names = sl_arena_array(&c->arena, (size_t)(count > 0 ? count : 0) + 2, sizeof(char *));
    size_t n = 0, used = 0;
    bool found = false;
    known[0] = '\0';
    for (int32_t i = 0; i < count; i++) {
        char buf[300];
        if (topics) {
            snprintf(buf, sizeof(buf), "%.*s", md.Topics.items[i].Name.len,
                     md.Topics.items[i].Name.ptr);
        } else {
            snprintf(buf, sizeof(buf), "%d", md.Brokers.items[i].NodeId);
            int w = snprintf(known + used, known_size - used, "%s%s", used ? ", " : "", buf);
            if (w > 0 && (size_t)w < known_size - used) used += (size_t)w;
        }
        found = found || (c->name && strcmp(buf, c->name) == 0);
        if (!c->name) names[n++] = sl_arena_strndup(&c->arena, buf, strlen(buf));
    }
    if (!c->name && !topics) names[n++] = "";
    if (c->name) names[n++] = (char *)c->name;
    *missing_out = c->name && c->name[0] && !found;
    *names_out = names;
    *count_out = n;
    return SL_OK;
}

static int configs_describe(configs_ctx *c) {
    bool all = tools_opts_has(c->o, "all");
    if (c->name && strcmp(c->type, "topics") == 0) {
        const char *bad = tools_topic_invalid_reason(c->name);
        if (bad) {
            configs_error(c, bad);
            return TOOLS_EXIT_FAIL;
        }
    }
    char **names = NULL;
    size_t count = 0;
    bool missing = false;
    char known[1024];
    if (configs_entities(c, &names, &count, &missing, known, sizeof(known)) != SL_OK) {
        configs_error(c, c->err);
        return TOOLS_EXIT_FAIL;
    }
    if (missing && !all) {
        printf("The %.*s '%s' doesn't exist and doesn't have dynamic config.\n",
               (int)strlen(c->type) - 1, c->type, c->name);
        return TOOLS_EXIT_OK;
    }
    if (missing && strcmp(c->type, "topics") != 0) {
        /* Kafka would wait for a node that never comes; say which brokers exist instead. */
        fprintf(stderr, "The broker '%s' doesn't exist; the cluster's brokers are: %s\n", c->name,
                known);
        return TOOLS_EXIT_FAIL;
    }
    for (size_t i = 0; i < count; i++) {
        if (configs_describe_one(c, names[i], all) != SL_OK) {
            configs_error(c, c->err);
            return TOOLS_EXIT_FAIL;
        }
    }
    return TOOLS_EXIT_OK;
}

/* ---- alter ---- */

typedef struct configs_kv {
    char *key;
    char *value;
} configs_kv;

/* Split --add-config at commas outside [], each part at the first '=' (spaces around it
 * trimmed), and drop the brackets from values, as ConfigCommand.parseConfigsToBeAdded. */
static int configs_parse_add(configs_ctx *c, const char *text, configs_kv *out, size_t *n) {
    size_t len = strlen(text);
    size_t start = 0;
    int depth = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] == '[') depth++;
        if (i < len && text[i] == ']' && depth > 0) depth--;
        if (i < len && (text[i] != ',' || depth > 0)) continue;
        const char *part = text + start;
        size_t plen = i - start;
        start = i + 1;
        const char *eq = memchr(part, '=', plen);
        if (!eq || *n == CONFIGS_MAX_ENTRIES) {
            fprintf(stderr, "Invalid entity config: all configs to be added must be in the format "
                            "\"key=val\" or  \"key=[val1,val2]\" to group values which contain "
                            "commas.\n");
            return SL_E_INVALID;
        }
        size_t klen = (size_t)(eq - part);
        while (klen && part[klen - 1] == ' ') {
            klen--;
        }
        const char *v = eq + 1;
        char *value = sl_arena_alloc(&c->arena, plen + 1);
        size_t vlen = 0;
        for (; v < part + plen; v++) {
            if (*v != '[' && *v != ']') value[vlen++] = *v;
        }
        value[vlen] = '\0';
        char *trim = value;
        while (*trim == ' ') {
            trim++;
        }
        while (vlen && value[vlen - 1] == ' ') {
            value[--vlen] = '\0';
        }
        out[*n].key = sl_arena_strndup(&c->arena, part, klen);
        out[(*n)++].value = trim;
    }
    return SL_OK;
}

static int configs_collect_adds(configs_ctx *c, configs_kv *adds, size_t *n) {
    const char *file = tools_opts_str(c->o, "add-config-file");
    if (file) {
        sl_props props;
        sl_props_init(&props);
        int rc = sl_props_load(&props, file, c->err, sizeof(c->err));
        for (size_t i = 0; rc == SL_OK && i < props.count && *n < CONFIGS_MAX_ENTRIES; i++) {
            adds[*n].key =
                sl_arena_strndup(&c->arena, props.items[i].key, strlen(props.items[i].key));
            adds[(*n)++].value =
                sl_arena_strndup(&c->arena, props.items[i].value, strlen(props.items[i].value));
        }
        sl_props_deinit(&props);
        if (rc != SL_OK) {
            configs_error(c, c->err);
            return rc;
        }
    }
    const char *text = tools_opts_str(c->o, "add-config");
    if (text) SL_TRY(configs_parse_add(c, text, adds, n));
    for (size_t i = 0; i < *n; i++) {
        for (const char *k = adds[i].key; *k; k++) {
            bool ok = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
                      (*k >= '0' && *k <= '9') || *k == '.' || *k == '_' || *k == '-' || *k == '$';
            if (!ok) {
                fprintf(stderr, "Invalid character found for config key: %s\n", adds[i].key);
                return SL_E_INVALID;
            }
        }
    }
    return SL_OK;
}

/* --delete-config values, each possibly "k1,k2". */
static size_t configs_collect_deletes(configs_ctx *c, char **out) {
    const tools_opt_value *v = tools_opts_get(c->o, "delete-config");
    size_t n = 0;
    for (size_t i = 0; i < v->list_count; i++) {
        char *copy = sl_arena_strndup(&c->arena, v->list[i], strlen(v->list[i]));
        char *save = NULL;
        for (char *k = strtok_r(copy, ",", &save); k && n < CONFIGS_MAX_ENTRIES;
             k = strtok_r(NULL, ",", &save)) {
            while (*k == ' ') {
                k++;
            }
            out[n++] = k;
        }
    }
    return n;
}

/* Kafka fails the command when a config to delete is not currently set dynamically. */
static int configs_check_deletes(configs_ctx *c, char **deletes, size_t n) {
    if (n == 0 || strcmp(c->type, "broker-loggers") == 0) return SL_OK;
    const protocol_DescribeConfigsResponse_DescribeConfigsResult *r = NULL;
    SL_TRY(configs_fetch(c, c->name, &r));
    int8_t dynamic = configs_dynamic_source(c->type, c->name);
    char invalid[900] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (int32_t k = 0; k < r->Configs.count && !found; k++) {
            found = sl_str_eq_c(r->Configs.items[k].Name, deletes[i]) &&
                    r->Configs.items[k].ConfigSource == dynamic;
        }
        if (found) continue;
        int w =
            snprintf(invalid + used, sizeof(invalid) - used, "%s%s", used ? "," : "", deletes[i]);
        if (w > 0 && (size_t)w < sizeof(invalid) - used) used += (size_t)w;
    }
    if (used == 0) return SL_OK;
    snprintf(c->err, sizeof(c->err), "Invalid config(s): %s", invalid);
    return SL_E_INVALID;
}

static int configs_send_alter(
    configs_ctx *c, const configs_kv *adds, size_t n_add, char **deletes, size_t n_del) {
    protocol_IncrementalAlterConfigsRequest_AlterConfigsResource res;
    protocol_IncrementalAlterConfigsRequest_AlterConfigsResource_init(&res);
    res.ResourceType = configs_resource_type(c->type);
    res.ResourceName = sl_str_c(c->name);
    res.Configs.count = (int32_t)(n_add + n_del);
    res.Configs.items = sl_arena_array(&c->arena, n_add + n_del + 1, sizeof(*res.Configs.items));
    for (size_t i = 0; i < n_del; i++) {
        protocol_IncrementalAlterConfigsRequest_AlterableConfig *e = &res.Configs.items[i];
        e->Name = sl_str_c(deletes[i]);
        e->ConfigOperation = CONFIGS_OP_DELETE;
        e->Value = SL_STR_NULL;
    }
    for (size_t i = 0; i < n_add; i++) {
        protocol_IncrementalAlterConfigsRequest_AlterableConfig *e = &res.Configs.items[n_del + i];
        e->Name = sl_str_c(adds[i].key);
        e->ConfigOperation = CONFIGS_OP_SET;
        e->Value = sl_str_c(adds[i].value);
    }
    protocol_IncrementalAlterConfigsRequest req;
    protocol_IncrementalAlterConfigsRequest_init(&req);
    req.Resources.count = 1;
    req.Resources.items = &res;
    protocol_IncrementalAlterConfigsResponse resp;
    SL_TRY(tools_kc_call(c->kc, configs_node(c->type, c->name), 44, -1, &req, &resp, &c->arena,
                         NULL, c->err, sizeof(c->err)));
    for (int32_t i = 0; i < resp.Responses.count; i++) {
        const protocol_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse *r =
            &resp.Responses.items[i];
        if (r->ErrorCode == 0) continue;
        tools_error_text(r->ErrorCode, r->ErrorMessage.ptr, r->ErrorMessage.len, c->err,
                         sizeof(c->err));
        return SL_E_STATE;
    }
    return SL_OK;
}

static int configs_alter(configs_ctx *c) {
    configs_kv *adds = sl_arena_array(&c->arena, CONFIGS_MAX_ENTRIES, sizeof(*adds));
    char **deletes = sl_arena_array(&c->arena, CONFIGS_MAX_ENTRIES, sizeof(char *));
    size_t n_add = 0;
    if (configs_collect_adds(c, adds, &n_add) != SL_OK) return TOOLS_EXIT_FAIL;
    size_t n_del = configs_collect_deletes(c, deletes);
    if (configs_check_deletes(c, deletes, n_del) != SL_OK ||
        configs_send_alter(c, adds, n_add, deletes, n_del) != SL_OK) {
        configs_error(c, c->err);
        return TOOLS_EXIT_FAIL;
    }
    if (c->name[0]) {
        printf("Completed updating config for %.*s %s.\n", (int)strlen(c->type) - 1, c->type,
               c->name);
    } else {
        printf("Completed updating default config for %s in the cluster.\n", c->type);
    }
    return TOOLS_EXIT_OK;
}

static int configs_run(const tools_opts *o) {
    configs_ctx c = { .o = o };
    int check = configs_check_args(&c);
    if (check != TOOLS_EXIT_OK) return check;
    const char *bootstrap = tools_opts_has(o, "bootstrap-server")
                                ? tools_opts_str(o, "bootstrap-server")
                                : tools_opts_str(o, "bootstrap-controller");
    if (tools_kc_open(bootstrap, tools_opts_str(o, "command-config"), "configs", &c.kc, c.err,
                      sizeof(c.err)) != SL_OK) {
        fprintf(stderr, "%s\n", c.err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena_init(&c.arena);
    int exit_code = tools_opts_has(o, "alter") ? configs_alter(&c) : configs_describe(&c);
    sl_arena_deinit(&c.arena);
    tools_kc_close(c.kc);
    return exit_code;
}

const tools_command tools_cmd_configs = {
    .name = "configs",
    .summary = "describe or change topic and broker configs",
    .description = "This tool helps to manipulate and describe entity config for a topic or "
                   "broker.",
    .opts = configs_opts,
    .opt_count = sizeof(configs_opts) / sizeof(configs_opts[0]),
    .run = configs_run,
};
