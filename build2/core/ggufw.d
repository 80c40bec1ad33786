build2/core/ggufw.o: core/ggufw.c core/ggufw.h core/gguf.h core/strmap.h
core/ggufw.h:
core/gguf.h:
core/strmap.h:
