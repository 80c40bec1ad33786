/* cmd_tokenize: `logitlab tokenize`: text to token ids and pieces.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_TOKENIZE_H
#define CMD_TOKENIZE_H

/* argv[0] is "tokenize"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_tokenize(int argc, char **argv);
#endif
