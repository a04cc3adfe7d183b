-- The channel's frames: what crosses between host and guest, and what is refused.
local core = require("ktstr.core")

describe("channel frames", function()
  it("round-trip several payloads through one byte stream", function()
    local wire = core.frame('{"t":"ready"}') .. core.frame("") .. core.frame(("x"):rep(70000))
    local frames, rest = core.unframe(wire)
    assert.are.same({ '{"t":"ready"}', "", ("x"):rep(70000) }, frames)
    assert.are.equal("", rest)
  end)

  it("keep a partial frame for later", function()
    local wire = core.frame("hello")
    local frames, rest = core.unframe(wire:sub(1, 14))
    assert.are.same({}, frames)
    assert.are.equal(wire:sub(1, 14), rest)
  end)

  it("reject a corrupted payload naming the checksum", function()
    local wire = core.frame("hello")
    local bad = wire:sub(1, 12) .. "jello"
    local ok, err, code = core.unframe(bad)
    assert.is_nil(ok)
    assert.are.equal("EBADMSG", code)
    assert.matches("checksum", err)
  end)

  it("reject bad magic naming what it got", function()
    local ok, err, code = core.unframe("GET / HTTP/1.1\r\n\r\n")
    assert.is_nil(ok)
    assert.are.equal("EBADMSG", code)
    assert.matches("bad frame magic 47455420", err)
  end)

  it("reject an absurd length before waiting for it", function()
    local hdr = "KTF1" .. string.pack("<I4I4", 0x7fffffff, 0)
    local ok, err = core.unframe(hdr)
    assert.is_nil(ok)
    assert.matches("exceeds", err)
  end)

  -- found by fuzz/chan.c: a buffered header with an absurd length was not
  -- "ready", so a poll waited on a silent peer instead of reporting it
  it("make a port with an absurd length buffered ready for poll at once", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-chan-"))
    local l = assert(core.unix_listen(dir .. "/s"))
    local wire = core.frame('{"t":"ready"}') .. "KTF1" .. string.pack("<I4I4", 0x7fffffff, 0)
    local peer = assert(core.spawn({ "python3", "-c", "import socket, sys, time\n" ..
      "s = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n" ..
      "s.sendall(bytes.fromhex(sys.argv[2]))\ntime.sleep(10)\n", dir .. "/s",
      (wire:gsub(".", function(c) return ("%02x"):format(c:byte()) end)) }))
    local port = assert(l:accept(5))
    assert.are.equal('{"t":"ready"}', port:recv(5))
    local t0 = core.now()
    local ready = core.poll({ port }, 3)
    local waited = core.now() - t0
    local ok, err, code = port:recv(0)
    peer:kill()
    peer:wait(5)
    peer:close()
    port:close()
    l:close()
    core.rm_rf(dir)
    assert.are.same({ 1 }, ready)
    assert.is_true(waited < 1, ("poll waited %.1fs"):format(waited))
    assert.is_nil(ok)
    assert.are.equal("EBADMSG", code)
    assert.matches("exceeds", err)
  end)
end)
