build2/core/unicode_tables.o: core/unicode_tables.c core/unicode.h
core/unicode.h:
