build2/lua/lab_json.o: lua/lab_json.c core/json.h lua/lhost_impl.h \
 /usr/include/lua5.4/lauxlib.h /usr/include/lua5.4/luaconf.h \
 /usr/include/lua5.4/lua.h /usr/include/lua5.4/lua.h lua/lhost.h
core/json.h:
lua/lhost_impl.h:
/usr/include/lua5.4/lauxlib.h:
/usr/include/lua5.4/luaconf.h:
/usr/include/lua5.4/lua.h:
/usr/include/lua5.4/lua.h:
lua/lhost.h:
