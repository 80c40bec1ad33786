/* cmd_info: `logitlab info`: describe a GGUF file or llama2.c checkpoint.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_INFO_H
#define CMD_INFO_H

/* argv[0] is "info"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_info(int argc, char **argv);
#endif
