build2/core/store_query.o: core/store_query.c core/store_impl.h \
 core/store.h
core/store_impl.h:
core/store.h:
