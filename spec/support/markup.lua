-- Spec helper: reads an HTML report as a strict XML parser and as browsers' HTML parser do.
local cjson = require("cjson")
local core = require("ktstr.core")
local luassert = require("luassert")

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

-- check(page) -> what the parsers saw; fails the spec when python3 cannot run.
function M.check(page)
  local dir = luassert(core.mkdtemp("/tmp/ktstr-markup-"))
  local f = luassert(io.open(dir .. "/page.html", "w"))
  f:write(page)
  f:close()
  local py = luassert(io.open(dir .. "/check.py", "w"))
  py:write(PY)
  py:close()
  local p = luassert(io.popen(("python3 %s/check.py %s/page.html"):format(dir, dir)))
  local out = p:read("a")
  p:close()
  core.rm_rf(dir)
  local ok, r = pcall(cjson.decode, out)
  luassert.is_true(ok, "python3 did not read the page: " .. out)
  return r
end

-- Asserts that both parsers took the page whole.
function M.assert_well_formed(r)
  luassert.are.equal(cjson.null, r.xml_error, tostring(r.xml_error))
  luassert.are.same({}, r.html_errors)
end

return M
