-- ktstr.host.welch: ln Γ, the incomplete beta, Student's t and Welch's test against known values
-- (references from mpmath at 30 digits, and Welch's worked example on Wikipedia).
local welch = require("ktstr.host.welch")

local function near(want, got, tol)
  assert(math.abs(want - got) <= (tol or 1e-9),
    ("expected %.15g, got %.15g (off by %.3g)"):format(want, got, math.abs(want - got)))
end

describe("welch", function()
  it("computes ln Γ", function()
    near(0.5723649429247001, welch.lgamma(0.5))
    near(12.80182748008147, welch.lgamma(10))
    near(1.428072326665388, welch.lgamma(3.7))
    near(0, welch.lgamma(1))
    assert.has_error(function() welch.lgamma(0) end, "lgamma: expected x > 0, got 0")
  end)

  it("computes the regularized incomplete beta", function()
    near(0.5248, welch.betai(2, 3, 0.4))  -- a polynomial: exact
    near(0.2951672353008666, welch.betai(0.5, 0.5, 0.2))
    near(0.3171515754655451, welch.betai(10, 0.5, 0.95))
    near(0.3173043978741974, welch.betai(50, 0.5, 0.99))
    near(0.5, welch.betai(7, 7, 0.5))
    near(0.3 ^ 4, welch.betai(4, 1, 0.3))
    assert.are.equal(0, welch.betai(3, 2, 0))
    assert.are.equal(1, welch.betai(3, 2, 1))
    assert.has_error(function() welch.betai(1, 1, 1.5) end, "betai: expected 0 <= x <= 1, got 1.5")
  end)

  it("computes the Student t CDF", function()
    near(0.75, welch.t_cdf(1, 1))  -- Cauchy
    near(0.9082482904638630, welch.t_cdf(2, 2))
    near(0.975, welch.t_cdf(2.228138851986522, 10))
    near(0.975, welch.t_cdf(2.042272456301238, 30))
    near(0.975, welch.t_cdf(12.7062047361747, 1))
    near(0.1001095428280768, welch.t_cdf(-1.5, 4.5))  -- fractional df, as Welch's test gives
    near(0.6135549747989329, welch.t_cdf(0.3, 7))
    near(0.9982960423283353, welch.t_cdf(3, 100))
    near(0.5, welch.t_cdf(0, 3))
    near(0.05, welch.t_two_sided(-2.228138851986522, 10))
    assert.are.equal(0, welch.t_two_sided(math.huge, 5))
  end)

  it("computes the mean and the sample standard deviation", function()
    local m, sd = welch.mean_sd({ 2, 4, 4, 4, 5, 5, 7, 9 })
    near(5, m)
    near(math.sqrt(32 / 7), sd)
    m, sd = welch.mean_sd({ 3 })
    assert.are.same({ 3 }, { m, sd })
    assert.is_nil(welch.mean_sd({}))
  end)

  it("runs Welch's t-test", function()
    -- Wikipedia's example: t = 2.46, df = 25.0, p = 0.021
    local a = { 27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
      21.4 }
    local b = { 27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
      24.4 }
    local r = welch.test(a, b)
    near(2.455356398286006, r.t, 1e-9)
    near(24.98852929023142, r.df, 1e-9)
    near(0.02137800146286698, r.p, 1e-9)
    r = welch.test({ 1, 2, 3, 4 }, { 2.5, 3.5, 4.5, 5.5, 6.5, 7.5 })
    near(2.5, r.t)
    near(7.941176470588235, r.df)
    near(0.03714965699125099, r.p)
  end)

  it("gives no test for one sample a side, and a certain answer without spread", function()
    assert.is_nil(welch.test({ 1 }, { 1, 2 }))
    assert.are.equal(1, welch.test({ 3, 3 }, { 3, 3, 3 }).p)
    assert.are.equal(0, welch.test({ 3, 3 }, { 4, 4 }).p)
    -- one side without spread: the other's alone decides
    local r = welch.test({ 5, 5, 5 }, { 4, 6, 5 })
    near(1, r.p)
  end)
end)
