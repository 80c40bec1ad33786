build2/lua/lab_smp.o: lua/lab_smp.c core/gmatch.h core/gram.h \
 lua/lhost_impl.h /usr/include/lua5.4/lauxlib.h \
 /usr/include/lua5.4/luaconf.h /usr/include/lua5.4/lua.h \
 /usr/include/lua5.4/lua.h lua/lhost.h core/logits.h core/smp.h
core/gmatch.h:
core/gram.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
core/logits.h:
core/smp.h:
