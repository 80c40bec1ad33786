/* cmd_synth: `logitlab synth`: write a random-weight Llama GGUF of a real shape.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_SYNTH_H
#define CMD_SYNTH_H

/* argv[0] is "synth"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_synth(int argc, char **argv);
#endif
