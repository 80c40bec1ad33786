build2/core/store_tree.o: core/store_tree.c core/store_impl.h \
 core/store.h core/sha256.h
core/store_impl.h:
core/store.h:
core/sha256.h:
