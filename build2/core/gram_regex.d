build2/core/gram_regex.o: core/gram_regex.c core/gram.h
core/gram.h:
