build2/lua/lhost.o: lua/lhost.c lua/lhost_impl.h \
 /usr/include/lua5.4/lauxlib.h /usr/include/lua5.4/luaconf.h \
 /usr/include/lua5.4/lua.h /usr/include/lua5.4/lua.h lua/lhost.h \
 core/fio.h core/pool.h
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
core/fio.h:
core/pool.h:
