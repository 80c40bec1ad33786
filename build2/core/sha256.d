build2/core/sha256.o: core/sha256.c core/sha256.h core/fio.h
core/sha256.h:
core/fio.h:
