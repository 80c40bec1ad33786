/* cmd_gen: `logitlab gen`: generate text from a prompt through a sampler
 * chain, streamed as text or as one JSON object per token (docs/sampling.md). */
#ifndef CMD_GEN_H
#define CMD_GEN_H

/* argv[0] is "gen"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_gen(int argc, char **argv);
#endif
