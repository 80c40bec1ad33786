build2/core/tok_bpe.o: core/tok_bpe.c core/tok_impl.h core/tok.h \
 core/strmap.h core/unicode.h core/utf8.h
core/tok_impl.h:
core/tok.h:
core/strmap.h:
core/unicode.h:
core/utf8.h:
