/* sluice_main.c — `sluice <command> [options]`: finds the command in the table below and
 * hands it its arguments (tools_command_main parses them from the command's option table).
 *
 *   sluice help                 lists the commands
 *   sluice help <command>       a command's usage, as `sluice <command> --help`
 *
 * Adding a command: one file defining `const tools_command tools_cmd_<name>` (declared in
 * tools.h) and one row in tools_commands[]. The log level for client and tool messages is
 * warn; SLUICE_LOG_LEVEL=info|debug|… and SLUICE_LOG_DEBUG=<modules> change it. */
#include "tools/tools.h"

#include "common/sl_log.h"

#include <stdlib.h>
#include <string.h>

static const tools_command *const tools_commands[] = {
    &tools_cmd_producer_perf_test,
    &tools_cmd_consumer_perf_test,
    &tools_cmd_perf_selftest,
    &tools_cmd_topics,
    &tools_cmd_configs,
    &tools_cmd_console_producer,
    &tools_cmd_console_consumer,
    &tools_cmd_consumer_groups,
    &tools_cmd_reassign_partitions,
    &tools_cmd_leader_election,
    &tools_cmd_delete_records,
    &tools_cmd_dump_log,
    &tools_cmd_broker_api_versions,
    &tools_cmd_metadata_quorum,
    &tools_cmd_cluster_id,
    &tools_cmd_mock_cluster,
};

#define TOOLS_COMMAND_COUNT (sizeof(tools_commands) / sizeof(tools_commands[0]))

static const tools_command *main_find(const char *name) {
    for (size_t i = 0; i < TOOLS_COMMAND_COUNT; i++) {
        if (strcmp(tools_commands[i]->name, name) == 0) return tools_commands[i];
    }
    return NULL;
}

static void main_usage(FILE *f) {
    fprintf(f, "Usage: sluice <command> [options]\n\nCommands:\n");
    for (size_t i = 0; i < TOOLS_COMMAND_COUNT; i++) {
        const tools_command *cmd = tools_commands[i];
        if (cmd->flags & TOOLS_CMD_HIDDEN) continue;
        fprintf(f, "  %-24s %s\n", cmd->name, cmd->summary);
    }
    fprintf(f, "\nRun 'sluice help <command>' or 'sluice <command> --help' for the options "
               "of a command.\n");
}

static int main_help(int argc, char **argv) {
    if (argc < 3) {
        main_usage(stdout);
        return TOOLS_EXIT_OK;
    }
    const tools_command *cmd = main_find(argv[2]);
    if (!cmd) {
        fprintf(stderr, "Unknown command: %s\n\n", argv[2]);
        main_usage(stderr);
        return TOOLS_EXIT_FAIL;
    }
    tools_usage_print(cmd, stdout);
    return TOOLS_EXIT_OK;
}

int main(int argc, char **argv) {
    const char *level = getenv("SLUICE_LOG_LEVEL");
    if (sl_log_configure(level && level[0] ? level : "warn", getenv("SLUICE_LOG_DEBUG")) != 0) {
        sl_log_configure("warn", NULL);
    }
    if (argc < 2) {
        main_usage(stderr);
        return TOOLS_EXIT_FAIL;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        return main_help(argc, argv);
    }
    const tools_command *cmd = main_find(name);
    if (!cmd) {
        fprintf(stderr, "Unknown command: %s\n\n", name);
        main_usage(stderr);
        return TOOLS_EXIT_FAIL;
    }
    return tools_command_main(cmd, argc - 1, argv + 1);
}
