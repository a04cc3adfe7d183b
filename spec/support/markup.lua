-- Spec helper: reads an HTML report as a strict XML parser and as browsers' HTML parser do.
local cjson = require("cjson")
local core = require("ktstr.core")
local luassert = require("luassert")
local run = require("support.run")

local M = {}

--[[
Python's xml.etree (strict: one unclosed or stray tag, one bare & or <,
and it refuses the file) and html.parser (the tags as HTML reads them,
balanced by hand: every element but the void ones closed, in order).
Prints JSON: what the specs count.
]]
local PY = [==[
import sys, json, xml.etree.ElementTree as E
from html.parser import HTMLParser

src = open(sys.argv[1], encoding='utf-8').read()
out = {'xml_error': None, 'html_errors': [], 'tags': [], 'refs': [], 'sections': [],
       'summary_rows': 0, 'text': ''}
VOID = {'meta', 'br', 'hr', 'img', 'input', 'link', 'area', 'base', 'col', 'embed', 'source',
        'track', 'wbr'}
# SVG's own elements may close themselves ("<rect/>"): HTML reads them as foreign content
FOREIGN = {'svg', 'g', 'rect', 'line', 'text', 'title', 'path', 'circle'}

class Balance(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        if tag not in VOID and tag not in FOREIGN:
            out['html_errors'].append('self-closed <%s/>' % tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            out['html_errors'].append('</%s> closes %s' % (tag, self.stack[-1:] or 'nothing'))
        else:
            self.stack.pop()

b = Balance()
b.feed(src)
b.close()
if b.stack:
    out['html_errors'].append('unclosed: ' + ' '.join(b.stack))

def local(tag):
    return tag.rsplit('}', 1)[-1]

def classes(e):
    return set((e.get('class') or '').split())

COUNT = {'nr': ('g', 'strip', 'nr'), 'dsq': ('g', 'strip', 'dsq'), 'marker': ('g', 'marker'),
         'gap': ('rect', 'gap'), 'gaplane': ('g', 'gaplane'), 'bar': ('rect', 'bar'),
         'bargroup': ('g', 'bargroup'), 'phase': ('g', 'phase'), 'stuck': ('rect', 'stuck'),
         'timeline': ('svg', 'timeline'), 'bars': ('svg', 'bars')}

try:
    root = E.fromstring(src)
except E.ParseError as e:
    out['xml_error'] = str(e)
else:
    tags = set()
    for e in root.iter():
        tags.add(local(e.tag))
        for k, v in e.attrib.items():
            if local(k) in ('href', 'src', 'action', 'data', 'xmlns') or 'url(' in v:
                out['refs'].append(v)
    out['tags'] = sorted(tags)
    out['text'] = ''.join(root.itertext())
    for s in root.iter('section'):
        n = {k: 0 for k in COUNT}
        markers = []
        for e in s.iter():
            for k, (tag, *cls) in COUNT.items():
                if local(e.tag) == tag and set(cls) <= classes(e):
                    n[k] += 1
            if local(e.tag) == 'g' and 'marker' in classes(e):
                markers.append(sorted(classes(e) - {'marker'})[0])
        n['markers'] = markers
        n['id'] = s.get('id')
        n['class'] = s.get('class')
        n['h2'] = ''.join(s.find('h2').itertext())
        n['text'] = ''.join(s.itertext())
        out['sections'].append(n)
    for t in root.iter('table'):
        if t.get('class') == 'summary':
            out['summary_rows'] = len(t.find('tbody'))
print(json.dumps(out))
]==]

-- Runs a Python program with args (a file of dir's for what was written there) -> its JSON.
local function python(src, args, files)
  local dir = luassert(core.mkdtemp("/tmp/ktstr-markup-"))
  files = files or {}
  files["main.py"] = src
  for name, data in pairs(files) do
    local f = luassert(io.open(dir .. "/" .. name, "w"))
    f:write(data)
    f:close()
  end
  local q = {}
  for i, a in ipairs(args) do q[i] = run.sh_quote((a:gsub("^@", dir .. "/"))) end
  local out = run.sh(("python3 %s/main.py %s 2>&1"):format(dir, table.concat(q, " ")))
  core.rm_rf(dir)
  local ok, r = pcall(cjson.decode, out)
  luassert.is_true(ok, "python3 did not read it: " .. out)
  return r
end

-- check(page) -> what the parsers saw; fails the spec when python3 cannot run.
function M.check(page)
  return python(PY, { "@page.html" }, { ["page.html"] = page })
end

--[[
A PNG as Python's zlib reads it (8-bit RGB or RGBA, not interlaced: what
Chromium writes): its size and, per colour asked ("#rrggbb"), how many
pixels have it (each channel within 3).
]]
local PNG = [==[
import sys, json, struct, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, hdr = 8, b'', None
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        hdr = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = hdr
assert depth == 8 and ctype in (2, 6) and interlace == 0, 'PNG kind %r' % (hdr,)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows = bytearray(stride), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
want = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in sys.argv[2:]]
counts = [0] * len(want)
for line in rows:
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        for k, c in enumerate(want):
            if abs(px[0] - c[0]) <= 3 and abs(px[1] - c[1]) <= 3 and abs(px[2] - c[2]) <= 3:
                counts[k] += 1
print(json.dumps({'width': w, 'height': h, 'counts': dict(zip(sys.argv[2:], counts))}))
]==]

-- png(path, colours) -> { width =, height =, counts = { ["#rrggbb"] = pixels } }.
function M.png(path, colours)
  return python(PNG, { path, table.unpack(colours) })
end

-- Asserts that both parsers took the page whole.
function M.assert_well_formed(r)
  luassert.are.equal(cjson.null, r.xml_error, tostring(r.xml_error))
  luassert.are.same({}, r.html_errors)
end

return M
