-- plot: curves drawn on a character grid, for plugins that print a figure
-- on the terminal and keep it in the workspace as text.
--
--   local P = assert(lab.require("plot"))
--   print(P.curves({ { name = "plain", mark = "P", points = { {1, 0.2}, {2, 0.3}, {4, 0.5} } },
--                    { name = "adaptive", mark = "A", points = { {1.6, 0.4} } } },
--                  { title = "accuracy against samples", w = 48, h = 10, ymin = 0, ymax = 1 }))
--
-- Each series is a polyline: its points (sorted by x) are joined by '.'
-- and marked with its letter; where series meet, '*'. The axes carry the
-- y range at the top, middle and bottom and the x range under the grid.
local P = {}
local fmt, concat, rep = string.format, table.concat, string.rep

local function num(x)
  if x == math.floor(x) and math.abs(x) < 1e9 then return fmt("%d", math.floor(x)) end
  return fmt("%.3g", x)
end

-- P.curves(series, o) -> text. o: w, h (the grid, default 56 x 12), title,
-- xlabel, ymin, ymax, xmin, xmax (default: the data's range; y from 0 to 1
-- when every y is in [0, 1]).
function P.curves(series, o)
  o = o or {}
  local w, h = math.max(8, o.w or 56), math.max(3, o.h or 12)
  local xmin, xmax, ymin, ymax = o.xmin, o.xmax, o.ymin, o.ymax
  local lo_x, hi_x, lo_y, hi_y = math.huge, -math.huge, math.huge, -math.huge
  for _, s in ipairs(series) do
    for _, p in ipairs(s.points) do
      lo_x, hi_x = math.min(lo_x, p[1]), math.max(hi_x, p[1])
      lo_y, hi_y = math.min(lo_y, p[2]), math.max(hi_y, p[2])
    end
  end
  if lo_x == math.huge then lo_x, hi_x, lo_y, hi_y = 0, 1, 0, 1 end
  xmin, xmax = xmin or math.min(0, lo_x), xmax or hi_x
  if ymin == nil and ymax == nil and lo_y >= 0 and hi_y <= 1 then ymin, ymax = 0, 1 end
  ymin, ymax = ymin or lo_y, ymax or hi_y
  if xmax - xmin <= 0 then xmax = xmin + 1 end
  if ymax - ymin <= 0 then ymax = ymin + 1 end
  local grid = {}
  for r = 1, h do grid[r] = {} for c = 1, w do grid[r][c] = " " end end
  local function col(x) return math.max(1, math.min(w, math.floor((x - xmin) / (xmax - xmin) * (w - 1) + 1.5))) end
  local function row(y) return math.max(1, math.min(h, h - math.floor((y - ymin) / (ymax - ymin) * (h - 1) + 0.5))) end
  local owner = {}
  for r = 1, h do owner[r] = {} end
  -- the joins first, then the marks over them
  for _, s in ipairs(series) do
    local pts = { table.unpack(s.points) }
    table.sort(pts, function(a, b) return a[1] < b[1] end)
    for i = 2, #pts do
      local c0, r0, c1, r1 = col(pts[i - 1][1]), row(pts[i - 1][2]), col(pts[i][1]), row(pts[i][2])
      local n = math.max(math.abs(c1 - c0), math.abs(r1 - r0))
      for k = 1, n - 1 do
        local c = c0 + math.floor((c1 - c0) * k / n + 0.5)
        local r = r0 + math.floor((r1 - r0) * k / n + 0.5)
        if grid[r][c] == " " then grid[r][c] = "." end
      end
    end
  end
  for si, s in ipairs(series) do
    for _, p in ipairs(s.points) do
      local r, c = row(p[2]), col(p[1])
      if owner[r][c] and owner[r][c] ~= si then grid[r][c] = "*" else grid[r][c] = s.mark; owner[r][c] = si end
    end
  end
  local ylab = { [1] = num(ymax), [h] = num(ymin), [(h + 1) // 2] = num((ymin + ymax) / 2) }
  local lw = 0
  for _, v in pairs(ylab) do lw = math.max(lw, #v) end
  local out = {}
  if o.title then out[#out + 1] = o.title end
  for r = 1, h do out[#out + 1] = fmt("%" .. lw .. "s |%s", ylab[r] or "", concat(grid[r])) end
  out[#out + 1] = rep(" ", lw) .. " +" .. rep("-", w)
  local left, right = num(xmin), num(xmax)
  out[#out + 1] = rep(" ", lw + 2) .. left .. rep(" ", math.max(1, w - #left - #right)) .. right
  if o.xlabel then out[#out + 1] = rep(" ", lw + 2) .. o.xlabel end
  local legend = {}
  for _, s in ipairs(series) do legend[#legend + 1] = s.mark .. " " .. s.name end
  out[#out + 1] = "  " .. concat(legend, "   ") .. "   (* several at one point)"
  return concat(out, "\n")
end

return P
