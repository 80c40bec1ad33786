build2/app/cmd_tokenize.o: app/cmd_tokenize.c app/cmd_tokenize.h \
 app/cli.h core/gguf.h core/model.h app/modelpath.h core/tok.h
app/cmd_tokenize.h:
app/cli.h:
core/gguf.h:
core/model.h:
app/modelpath.h:
core/tok.h:
