build2/app/cmd_ppl.o: app/cmd_ppl.c app/cmd_ppl.h app/cli.h core/ctx.h \
 core/model.h app/modelpath.h core/score.h core/tok.h
app/cmd_ppl.h:
app/cli.h:
core/ctx.h:
core/model.h:
app/modelpath.h:
core/score.h:
core/tok.h:
