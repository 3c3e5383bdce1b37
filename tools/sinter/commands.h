/*
 * commands.h — the CLI's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand name) and returns the process exit code:
 * 0 success, 1 failure (error context printed to stderr), 2 usage error.
 */
#ifndef SINTER_CLI_COMMANDS_H
#define SINTER_CLI_COMMANDS_H

#define SN_EXIT_OK 0
#define SN_EXIT_FAILURE 1
#define SN_EXIT_USAGE 2

int sn_cmd_info(int argc, char **argv);
int sn_cmd_embed(int argc, char **argv);
int sn_cmd_classify(int argc, char **argv);
int sn_cmd_rerank(int argc, char **argv);
int sn_cmd_graph(int argc, char **argv);
int sn_cmd_tokenize(int argc, char **argv);
int sn_cmd_compile(int argc, char **argv);
int sn_cmd_inspect(int argc, char **argv);
int sn_cmd_cache(int argc, char **argv);
int sn_cmd_bench(int argc, char **argv);
int sn_cmd_profile(int argc, char **argv);
int sn_cmd_serve(int argc, char **argv);

#endif
