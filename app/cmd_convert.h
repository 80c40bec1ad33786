/* cmd_convert: `logitlab convert IN.bin OUT.gguf`: a llama2.c checkpoint and
 * its tokenizer written as a GGUF (llama architecture) that llama.cpp opens.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_CONVERT_H
#define CMD_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the llama2.c checkpoint at path as the GGUF out (tok_path: its
 * tokenizer, NULL to look beside it; exact: version 2 widened to F32); prints
 * a line per tensor unless quiet, then a summary. 0, or -1 with err set. */
int cmd_convert_write(const char *path, const char *out, const char *tok_path, bool exact, bool quiet,
                      char *err, size_t errlen);
/* argv[0] is "convert"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_convert(int argc, char **argv);
#endif
