build2/core/unicode.o: core/unicode.c core/unicode.h
core/unicode.h:
