return { name = "t_level", api_level = 99, description = "from the future" }
