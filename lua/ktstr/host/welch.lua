-- Welch's t-test: sample mean and stdev, and the Student t distribution it needs (pure Lua).
local M = {}

-- ln Γ(x) for x > 0 (Lanczos, as Numerical Recipes' gammln: ~1e-10 relative).
local COF = { 76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155,
  0.1208650973866179e-2, -0.5395239384953e-5 }

function M.lgamma(x)
  if x ~= x or x <= 0 then error(("lgamma: expected x > 0, got %s"):format(x), 2) end
  local y, tmp = x, x + 5.5
  tmp = tmp - (x + 0.5) * math.log(tmp)
  local ser = 1.000000000190015
  for _, c in ipairs(COF) do
    y = y + 1
    ser = ser + c / y
  end
  return -tmp + math.log(2.5066282746310005 * ser / x)
end

local MAXIT, EPS, FPMIN = 300, 3e-16, 1e-300

local function tiny(v)
  if math.abs(v) < FPMIN then return FPMIN end
  return v
end

-- The continued fraction of the incomplete beta (modified Lentz), as NR's betacf.
local function betacf(a, b, x)
  local qab, qap, qam = a + b, a + 1, a - 1
  local c, d = 1, 1 / tiny(1 - qab * x / qap)
  local h = d
  for m = 1, MAXIT do
    local m2 = 2 * m
    local aa = m * (b - m) * x / ((qam + m2) * (a + m2))
    d = 1 / tiny(1 + aa * d)
    c = tiny(1 + aa / c)
    h = h * d * c
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
    d = 1 / tiny(1 + aa * d)
    c = tiny(1 + aa / c)
    local del = d * c
    h = h * del
    if math.abs(del - 1) < EPS then return h end
  end
  return h  -- not converged in MAXIT: a or b far larger than a t-test asks for
end

-- I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1.
function M.betai(a, b, x)
  if not (a > 0 and b > 0) then error(("betai: expected a, b > 0, got %s, %s"):format(a, b), 2) end
  if not (x >= 0 and x <= 1) then error(("betai: expected 0 <= x <= 1, got %s"):format(x), 2) end
  if x == 0 or x == 1 then return x end
  local bt = math.exp(M.lgamma(a + b) - M.lgamma(a) - M.lgamma(b) + a * math.log(x) +
    b * math.log(1 - x))
  -- the fraction converges fast below the mean of the distribution; use the symmetry above it
  if x < (a + 1) / (a + b + 2) then return bt * betacf(a, b, x) / a end
  return 1 - bt * betacf(b, a, 1 - x) / b
end

-- P(|T| >= |t|) for Student's t with df degrees of freedom (df > 0, not necessarily whole).
function M.t_two_sided(t, df)
  if t ~= t then error("t_two_sided: t is NaN", 2) end
  if t == math.huge or t == -math.huge then return 0 end
  return M.betai(df / 2, 0.5, df / (df + t * t))
end

-- P(T <= t), Student's t cumulative distribution.
function M.t_cdf(t, df)
  local tail = M.t_two_sided(t, df) / 2
  return t >= 0 and 1 - tail or tail
end

-- mean(xs), and the sample standard deviation (n - 1; nil for one sample).
function M.mean_sd(xs)
  local n = #xs
  if n == 0 then return nil end
  local sum = 0
  for _, x in ipairs(xs) do sum = sum + x end
  local mean = sum / n
  if n < 2 then return mean, nil end
  local ss = 0
  for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
  return mean, math.sqrt(ss / (n - 1))
end

--[[
welch(a, b) -> { t, df, p } comparing the means of samples a and b without
assuming equal variances; nil when either side has fewer than 2 samples.
Both sides without spread: p is 1 when the means agree, 0 when they differ.
]]
function M.test(a, b)
  if #a < 2 or #b < 2 then return nil end
  local ma, sa = M.mean_sd(a)
  local mb, sb = M.mean_sd(b)
  local va, vb = sa * sa / #a, sb * sb / #b
  local se2 = va + vb
  if se2 == 0 then
    return { t = ma == mb and 0 or (mb > ma and math.huge or -math.huge), df = #a + #b - 2,
      p = ma == mb and 1 or 0 }
  end
  local t = (mb - ma) / math.sqrt(se2)
  -- Welch-Satterthwaite; a side without spread contributes no term
  local den = (va > 0 and va * va / (#a - 1) or 0) + (vb > 0 and vb * vb / (#b - 1) or 0)
  local df = se2 * se2 / den
  return { t = t, df = df, p = M.t_two_sided(t, df) }
end

return M
