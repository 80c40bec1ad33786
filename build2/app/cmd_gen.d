build2/app/cmd_gen.o: app/cmd_gen.c app/cmd_gen.h app/cli.h core/ctx.h \
 core/gmatch.h core/gram.h core/gram.h core/logits.h core/model.h \
 app/modelpath.h core/smp.h core/tok.h
app/cmd_gen.h:
app/cli.h:
core/ctx.h:
core/gmatch.h:
core/gram.h:
core/gram.h:
core/logits.h:
core/model.h:
app/modelpath.h:
core/smp.h:
core/tok.h:
