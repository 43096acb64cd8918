/* main.c — the tensord command line: dispatches to the subcommand table below.
 * `tensord --flag=... ` (argv[1] starts with "--", or no arguments at all) runs the model
 * server exactly like tensorflow_model_server; `tensord serve --flags` is the same. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"

/* `serve` subcommand: argv[0] = "serve" stands in for the program name. */
static int serve_command(int argc, char **argv) { return td_server_main(argc, argv); }

static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help;
} subcommands[] = {
    {"show", td_cli_show, "show --dir DIR [--all | --tag_set T [--signature_def K]]  (like saved_model_cli show); "
                          "show --dir DIR [--tag_set T] --ops  (op histogram, supported or not)"},
    {"serve", serve_command, "serve --model_base_path=DIR [--rest_api_port=8501 ...]  (like tensorflow_model_server; "
                             "also: tensord --flags)"},
    {"run", td_cli_run, "run --dir DIR --tag_set T --signature_def K --inputs/--input_exprs/--input_examples ...  (like saved_model_cli run)"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: tensord <command> [flags]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    fprintf(f, "  %s\n", subcommands[i].help);
}

int main(int argc, char **argv) {
  if (argc >= 2 && (!strcmp(argv[1], "-h") || (!strcmp(argv[1], "--help") && argc == 2))) {
    usage(stdout);
    return 0;
  }
  if (argc < 2 || !strncmp(argv[1], "--", 2)) return td_server_main(argc, argv); /* tensorflow_model_server */
  for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "tensord: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
