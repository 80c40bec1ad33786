build2/lua/lab_kvstate.o: lua/lab_kvstate.c core/ctx.h lua/lhost_impl.h \
 /usr/include/lua5.4/lauxlib.h /usr/include/lua5.4/luaconf.h \
 /usr/include/lua5.4/lua.h /usr/include/lua5.4/lua.h lua/lhost.h \
 core/sha256.h
core/ctx.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
core/sha256.h:
