build2/core/tok_spm.o: core/tok_spm.c core/tok_impl.h core/tok.h \
 core/strmap.h core/utf8.h
core/tok_impl.h:
core/tok.h:
core/strmap.h:
core/utf8.h:
