-- Shared by settle.lua and extend.lua (concatenated in front of them at load time);
-- mirrors realtime/budgets/policy.py. The levels are not spelled here: Python passes
-- policy.WARNING_LEVELS as ARGV[at] = how many, then the levels. A level that has
-- warned is flagged 'w<level>' = '1' in the budget hash (KEYS[1]).

local function read_levels(at)
  local levels = {}
  for i = 1, tonumber(ARGV[at]) do levels[i] = tonumber(ARGV[at + i]) end
  return levels
end

-- policy.percent_spent: a total under 1 counts as 1.
local function percent_spent(spent, total)
  return 100 * spent / math.max(total, 1)
end
