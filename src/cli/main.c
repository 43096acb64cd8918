/* main.c — the tensord command line: dispatches to the subcommand table below. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help;
} subcommands[] = {
    {"show", td_cli_show, "show --dir DIR [--all | --tag_set T [--signature_def K]]  (like saved_model_cli show)"},
    {"run", td_cli_run, "run --dir DIR --tag_set T --signature_def K --inputs/--input_exprs/--input_examples ...  (like saved_model_cli run)"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: tensord <command> [flags]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    fprintf(f, "  %s\n", subcommands[i].help);
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "tensord: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
