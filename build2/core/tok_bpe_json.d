build2/core/tok_bpe_json.o: core/tok_bpe_json.c core/tok_impl.h \
 core/tok.h core/strmap.h core/fio.h core/json.h
core/tok_impl.h:
core/tok.h:
core/strmap.h:
core/fio.h:
core/json.h:
