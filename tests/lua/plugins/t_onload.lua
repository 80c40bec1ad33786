return { name = "t_onload", api_level = 1, on_load = function() error("on_load failed here") end }
