build2/core/store_toks.o: core/store_toks.c core/store_impl.h \
 core/store.h
core/store_impl.h:
core/store.h:
