/* cmd_quantize: `logitlab quantize`: convert the weights of a GGUF to another type.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_QUANTIZE_H
#define CMD_QUANTIZE_H

/* argv[0] is "quantize"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_quantize(int argc, char **argv);
#endif
