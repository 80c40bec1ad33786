build2/core/tok.o: core/tok.c core/tok_impl.h core/tok.h core/strmap.h \
 core/fio.h core/gguf.h core/utf8.h
core/tok_impl.h:
core/tok.h:
core/strmap.h:
core/fio.h:
core/gguf.h:
core/utf8.h:
