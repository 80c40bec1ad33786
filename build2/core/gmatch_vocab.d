build2/core/gmatch_vocab.o: core/gmatch_vocab.c core/gmatch_impl.h \
 core/gmatch.h core/gram.h core/tok.h
core/gmatch_impl.h:
core/gmatch.h:
core/gram.h:
core/tok.h:
