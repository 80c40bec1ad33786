/* cmd_ppl: `logitlab ppl`: perplexity of a text file with a sliding window
 * (score_ppl; the method is in docs/sampling.md). */
#ifndef CMD_PPL_H
#define CMD_PPL_H

/* argv[0] is "ppl"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_ppl(int argc, char **argv);
#endif
