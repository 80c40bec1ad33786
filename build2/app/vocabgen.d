build2/app/vocabgen.o: app/vocabgen.c app/vocabgen.h core/gguf.h \
 core/ggufw.h core/gguf.h
app/vocabgen.h:
core/gguf.h:
core/ggufw.h:
core/gguf.h:
