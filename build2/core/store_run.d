build2/core/store_run.o: core/store_run.c core/store_impl.h core/store.h
core/store_impl.h:
core/store.h:
