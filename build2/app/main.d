build2/app/main.o: app/main.c app/cli.h app/cmd_bench.h app/cmd_convert.h \
 app/cmd_export.h app/cmd_gen.h app/cmd_info.h app/cmd_ppl.h \
 app/cmd_quantize.h app/cmd_runs.h app/cmd_repl.h app/cmd_run.h \
 app/cmd_synth.h app/cmd_tokenize.h app/cmd_train.h app/cmd_tui.h \
 app/modelpath.h
app/cli.h:
app/cmd_bench.h:
app/cmd_convert.h:
app/cmd_export.h:
app/cmd_gen.h:
app/cmd_info.h:
app/cmd_ppl.h:
app/cmd_quantize.h:
app/cmd_runs.h:
app/cmd_repl.h:
app/cmd_run.h:
app/cmd_synth.h:
app/cmd_tokenize.h:
app/cmd_train.h:
app/cmd_tui.h:
app/modelpath.h:
