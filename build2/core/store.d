build2/core/store.o: core/store.c core/store_impl.h core/store.h
core/store_impl.h:
core/store.h:
