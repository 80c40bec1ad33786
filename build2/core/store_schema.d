build2/core/store_schema.o: core/store_schema.c core/store_impl.h \
 core/store.h
core/store_impl.h:
core/store.h:
