build2/lua/lsandbox.o: lua/lsandbox.c /usr/include/lua5.4/lualib.h \
 /usr/include/lua5.4/lua.h /usr/include/lua5.4/luaconf.h lua/lhost_impl.h \
 /usr/include/lua5.4/lauxlib.h /usr/include/lua5.4/lua.h lua/lhost.h
/usr/include/lua5.4/lualib.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/luaconf.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
