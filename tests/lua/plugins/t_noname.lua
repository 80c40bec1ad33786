return { api_level = 1, description = "no name" }
