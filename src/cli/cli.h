/* cli.h — tensord subcommands. Each is `int fn(int argc, char **argv)` returning a process
 * exit code (0 ok, 1 failure, 2 usage error); argv[0] is the subcommand name. The table of
 * subcommands lives in main.c. Thread affinity: main thread. */
#ifndef TD_CLI_CLI_H
#define TD_CLI_CLI_H

/* saved_model_cli-compatible `show` (show.c). */
int td_cli_show(int argc, char **argv);
/* saved_model_cli-compatible `run` (run.c). */
int td_cli_run(int argc, char **argv);

#endif
