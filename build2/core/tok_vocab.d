build2/core/tok_vocab.o: core/tok_vocab.c core/tok_impl.h core/tok.h \
 core/strmap.h
core/tok_impl.h:
core/tok.h:
core/strmap.h:
