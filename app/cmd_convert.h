/* cmd_convert: `logitlab convert IN.bin OUT.gguf`: a llama2.c checkpoint and
 * its tokenizer written as a GGUF (llama architecture) that llama.cpp opens.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_CONVERT_H
#define CMD_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* How cmd_convert_write shows its progress: none; a live line on stderr
 * when stderr is a terminal (nothing per tensor when it is not); a JSON
 * object per tensor on stdout; nothing at all, not even the summary (a
 * step of quantize, whose own lines and summary say what was done). */
enum { CONVERT_QUIET, CONVERT_LIVE, CONVERT_JSON, CONVERT_SILENT };

/* Writes the llama2.c checkpoint at path as the GGUF out, replacing it
 * (fout.h), or into the stream `to` when not NULL (out then only names it:
 * quantize's locked temporary, ggufw_begin_file) (tok_path: its
 * tokenizer, NULL to look beside it; exact: version 2 widened to F32); shows
 * its progress as `progress` says (CONVERT_*), then prints a summary (a JSON
 * object with CONVERT_JSON, none with CONVERT_SILENT). 0, or -1 with err set. */
int cmd_convert_write(const char *path, const char *out, FILE *to, const char *tok_path, bool exact, int progress,
                      char *err, size_t errlen);
/* argv[0] is "convert"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_convert(int argc, char **argv);
#endif
