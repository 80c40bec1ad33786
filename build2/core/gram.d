build2/core/gram.o: core/gram.c core/gram.h
core/gram.h:
