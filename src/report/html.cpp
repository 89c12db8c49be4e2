#include "report/html.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace nntune::report::html {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string script_safe_json(const std::string& json_text) {
  // JSON has these characters only inside strings, where a \u escape is the same string to
  // JSON.parse. "</" keeps its older "<\/" form; with no other '<' left, no tag, comment or
  // "<!--" can start, so '>' needs no escape.
  std::string out;
  out.reserve(json_text.size());
  for (size_t i = 0; i < json_text.size(); ++i) {
    const char c = json_text[i];
    if (c == '<' && i + 1 < json_text.size() && json_text[i + 1] == '/') out += "<\\";
    else if (c == '<') out += "\\u003c";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

std::string shorten(const std::string& text, size_t max_chars) {
  auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  size_t chars = 0, cut = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_continuation(text[i])) continue;
    ++chars;
    if (chars == max_chars) cut = i;  // where the last kept character would end the cut text
  }
  if (chars <= max_chars || max_chars == 0) return text;
  return text.substr(0, cut) + "\u2026";
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::isfinite(v) ? v : 0.0);
  return buf;
}

std::string number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf");
  char buf[32];
  if (std::abs(v) < 1e6 && v == std::round(v)) std::snprintf(buf, sizeof buf, "%.0f", v);  // 10000, not 1e+04
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string duration(double seconds) {
  const long s = std::max(0L, std::lround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else if (seconds < 1) std::snprintf(buf, sizeof buf, "%.2gs", std::max(0.0, seconds));
  else if (seconds < 10) std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string ramp(double t) {
  // Viridis anchor colours, reversed so that t = 1 (the best) is the darkest on white paper.
  static const std::array<std::array<int, 3>, 6> stops = {{
      {253, 231, 37}, {122, 209, 81}, {34, 168, 132}, {42, 120, 142}, {65, 68, 135}, {68, 1, 84}}};
  t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
  const double at = t * static_cast<double>(stops.size() - 1);
  const size_t i = std::min(static_cast<size_t>(at), stops.size() - 2);
  const double f = at - static_cast<double>(i);
  char buf[8];
  int rgb[3];
  for (int k = 0; k < 3; ++k) rgb[k] = static_cast<int>(std::lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

std::string shade(double t) {
  // White to dark blue: counts, where zero should read as nothing.
  t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
  const int from[3] = {247, 251, 255}, to[3] = {8, 48, 107};
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(std::lround(from[0] + t * (to[0] - from[0]))),
                static_cast<int>(std::lround(from[1] + t * (to[1] - from[1]))),
                static_cast<int>(std::lround(from[2] + t * (to[2] - from[2]))));
  return buf;
}

double Scale::operator()(double v) const {
  double a = lo, b = hi, x = v;
  if (log) {
    a = std::log10(std::max(lo, 1e-300));
    b = std::log10(std::max(hi, 1e-300));
    x = std::log10(std::max(v, 1e-300));
  }
  if (b == a) return (px_lo + px_hi) / 2;
  return px_lo + (x - a) / (b - a) * (px_hi - px_lo);
}

std::vector<double> Scale::ticks(int count) const {
  std::vector<double> out;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) {
    out.push_back(lo);
    return out;
  }
  if (log && lo > 0) {
    auto inside = [&](double v) { return v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9); };
    const double first = std::floor(std::log10(lo)), last = std::ceil(std::log10(hi));
    // Every decade is labelled; only past 12 of them (labels would touch) every other one.
    const double every = last - first > 12 ? std::ceil((last - first) / 12) : 1.0;
    for (double e = first; e <= last; e += every)
      if (inside(std::pow(10.0, e))) out.push_back(std::pow(10.0, e));
    if (out.size() < 2) {  // a decade or two: 1, 2 and 5 of each
      out.clear();
      for (double e = first; e <= last; ++e)
        for (double m : {1.0, 2.0, 5.0})
          if (const double v = m * std::pow(10.0, e); inside(v)) out.push_back(v);
    }
    if (out.size() >= 2) return out;
    out.clear();  // less than a decade: linear ticks read better
  }
  const double raw = (hi - lo) / std::max(count, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  // Integer multiples of the step (no accumulated rounding: 0.6, not 0.6000000000000001).
  const double first = std::ceil(lo / step - 1e-9), last = std::floor(hi / step + 1e-9);
  for (double k = first; k <= last; ++k) out.push_back(k == 0 ? 0.0 : step >= 1 ? k * step : k / std::round(1 / step));
  return out;
}

void pad_range(double& lo, double& hi, bool log) {
  if (log && lo > 0 && hi > 0) {
    if (hi <= lo) {
      lo /= 2;
      hi *= 2;
      return;
    }
    const double f = std::pow(hi / lo, 0.04);
    lo /= f;
    hi *= f;
    return;
  }
  if (!(hi > lo)) {
    const double d = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
    return;
  }
  const double d = (hi - lo) * 0.04;
  lo -= d;
  hi += d;
}

std::vector<double> time_ticks(double lo, double hi, int count) {
  static const double steps[] = {1,    2,    5,    10,   15,    30,    60,    120,   300,    600,   900,
                                 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800};
  std::vector<double> out;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  if (hi - lo < static_cast<double>(count)) {  // under a few seconds: ordinary round numbers
    const Scale s{lo, hi, false, 0, 1};
    return s.ticks(count);
  }
  double step = steps[std::size(steps) - 1];
  for (double candidate : steps)
    if ((hi - lo) / candidate <= count) {
      step = candidate;
      break;
    }
  // Past the largest step: whole weeks, as many as it takes.
  if ((hi - lo) / step > count) step *= std::ceil((hi - lo) / step / count);
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; ++k) out.push_back(k * step);
  return out;
}

std::string duration_label(double seconds) {
  if (!std::isfinite(seconds)) return number(seconds);
  if (std::abs(seconds) < 1) return seconds == 0 ? "0" : number(seconds) + "s";
  const long s = std::lround(std::abs(seconds));
  const long d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
  std::string text = seconds < 0 ? "-" : "";
  // The two largest non-zero parts at most: 1h30m, 2d6h, 45s.
  int parts = 0;
  for (const auto& [amount, unit] : {std::pair{d, "d"}, {h, "h"}, {m, "m"}, {sec, "s"}}) {
    if (amount == 0 && parts == 0) continue;
    if (parts == 2) break;
    if (amount != 0) text += std::to_string(amount) + unit;
    ++parts;
  }
  return text;
}

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double at = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t i = static_cast<size_t>(at);
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (at - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

RobustRange robust_range(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  std::sort(v.begin(), v.end());
  RobustRange r;
  if (v.empty()) return r;
  r.lo = v.front();
  r.hi = v.back();
  const size_t n = v.size();
  if (n < 5) return r;
  // Order statistics, not interpolated quantiles: an interpolated 95% of 10 values would carry
  // a share of the largest one, the very outlier to be kept out.
  const double tail = std::max(0.05, 1.0 / static_cast<double>(n));
  const double core_lo = v[static_cast<size_t>(std::ceil(tail * static_cast<double>(n - 1) - 1e-9))];
  const double core_hi = v[static_cast<size_t>(std::floor((1 - tail) * static_cast<double>(n - 1) + 1e-9))];
  const double width = core_hi - core_lo;
  if (!(width > 0)) return r;
  const auto first = std::lower_bound(v.begin(), v.end(), core_lo - width);
  const auto end = std::upper_bound(v.begin(), v.end(), core_hi + width);
  r.lo = *first;
  r.hi = *(end - 1);
  r.below = static_cast<size_t>(first - v.begin());
  r.above = static_cast<size_t>(v.end() - end);
  return r;
}

Chart::Chart(int width, int height, int left, int right, int top, int bottom)
    : width_(width), height_(height), left_(left), right_(right), top_(top), bottom_(bottom) {}

std::vector<Tick> ticks_of(const Scale& scale, const std::function<std::string(double)>& label) {
  std::vector<Tick> out;
  for (double v : scale.ticks()) out.push_back({v, label ? label(v) : number(v)});
  return out;
}

void Chart::axes(const Scale& x, const Scale& y, const std::vector<Tick>& x_ticks, const std::vector<Tick>& y_ticks,
                 const std::string& x_title, const std::string& y_title) {
  std::string s = "<g class=\"axes\">";
  for (const Tick& tick : x_ticks) {
    const std::string px = coord(x(tick.at));
    s += "<line class=\"grid\" x1=\"" + px + "\" x2=\"" + px + "\" y1=\"" + coord(area_top()) + "\" y2=\"" +
         coord(area_bottom()) + "\"/><text x=\"" + px + "\" y=\"" + coord(area_bottom() + 16) +
         "\" text-anchor=\"middle\">" + escape(tick.label) + "</text>";
  }
  for (const Tick& tick : y_ticks) {
    const std::string py = coord(y(tick.at));
    s += "<line class=\"grid\" y1=\"" + py + "\" y2=\"" + py + "\" x1=\"" + coord(area_left()) + "\" x2=\"" +
         coord(area_right()) + "\"/><text x=\"" + coord(area_left() - 6) + "\" y=\"" + coord(y(tick.at) + 4) +
         "\" text-anchor=\"end\">" + escape(tick.label) + "</text>";
  }
  s += "<rect class=\"frame\" x=\"" + coord(area_left()) + "\" y=\"" + coord(area_top()) + "\" width=\"" +
       coord(area_right() - area_left()) + "\" height=\"" + coord(area_bottom() - area_top()) + "\"/>";
  s += "<text class=\"title\" x=\"" + coord((area_left() + area_right()) / 2) + "\" y=\"" + coord(height_ - 8) +
       "\" text-anchor=\"middle\">" + escape(x_title) + "</text>";
  s += "<text class=\"title\" transform=\"translate(14 " + coord((area_top() + area_bottom()) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_title) + "</text></g>";
  body_ = s + body_;
}

std::string Chart::render(const std::string& plot_name, bool zoomable) const {
  const std::string w = std::to_string(width_), h = std::to_string(height_);
  return "<svg class=\"plot" + std::string(zoomable ? " zoomable" : "") + "\" data-plot=\"" + escape(plot_name) +
         "\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
         "\" xmlns=\"http://www.w3.org/2000/svg\">" + body_ + "</svg>";
}

std::string message(const std::string& text) { return "<p class=\"empty\">" + escape(text) + "</p>"; }

std::string section(const std::string& id, const std::string& title, const std::string& content) {
  return "<section id=\"" + escape(id) + "\"><h2>" + escape(title) + "</h2>" + content + "</section>\n";
}

namespace {

const char* const kStyle = R"CSS(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2a44;color:#fff;padding:14px 28px}header h1{margin:0;font-size:20px}header p{margin:2px 0 0;opacity:.8}
main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 18px 16px;margin:14px 0}
h2{font-size:16px;margin:4px 0 8px}h3{font-size:14px;margin:8px 0 4px}
p.note{color:#555;margin:4px 0 8px;max-width:980px}p.empty{background:#fff8e1;border:1px solid #f0d48a;padding:10px 14px;border-radius:4px}
.kv{display:grid;grid-template-columns:max-content auto;gap:2px 16px}.kv dt{color:#555}.kv dd{margin:0;font-family:ui-monospace,monospace}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
svg.plot{background:#fff;font-size:11px;font-family:inherit}svg.zoomable{cursor:grab;touch-action:none}
svg .grid{stroke:#eceef2}svg .frame{fill:none;stroke:#9aa3b2}svg .title{font-size:12px;fill:#333}
svg text{fill:#444}svg text.tick{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}svg .best-line{fill:none;stroke:#d62728;stroke-width:2}
svg .curve{fill:none;stroke-width:1;opacity:.55}svg .curve.best{stroke-width:2.5;opacity:1}
svg .pc{fill:none;stroke-width:1;opacity:.45}svg .pc.best{stroke-width:3;opacity:1}
svg .m:hover{stroke:#000;stroke-width:2;opacity:1}
#tip{position:fixed;pointer-events:none;background:#1d2330;color:#fff;padding:6px 9px;border-radius:4px;font-size:12px;white-space:pre;display:none;z-index:9;max-width:520px}
table{border-collapse:collapse;font-size:12px;width:100%}th,td{border-bottom:1px solid #e3e6eb;padding:3px 8px;text-align:right;white-space:nowrap}
th{cursor:pointer;background:#f0f2f5;position:sticky;top:0}th.sorted-asc:after{content:" \25B2"}th.sorted-desc:after{content:" \25BC"}
td.s-complete{color:#1a7f37}td.s-pruned{color:#b35900}td.s-failed{color:#c62828}.tablewrap{max-height:640px;overflow:auto}
.pager{margin:8px 0}.pager button{margin-right:6px}.legend{font-size:12px;color:#444}
.swatch{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin:0 4px 0 10px;border-radius:2px}
)CSS";

// Runs first: counts every error, so that the self-check sees errors of the later scripts too.
const char* const kErrorCounter =
    "window.__reportErrors=[];window.addEventListener('error',function(e){window.__reportErrors.push(String(e.message||e));"
    "var s=document.getElementById('selfcheck');if(s){s.setAttribute('data-errors',window.__reportErrors.length);"
    "s.setAttribute('data-error-messages',window.__reportErrors.join(' | '));}});";

const char* const kScript = R"JS(
(function(){
'use strict';
var data=JSON.parse(document.getElementById('report-data').textContent||'{}');
var trials=data.trials||null, byNumber={};
if(trials){trials.rows.forEach(function(r){byNumber[r[0]]=r;});}
function fmt(v){if(v===null||v===undefined)return '';if(typeof v==='number'){if(!isFinite(v))return String(v);
 var a=Math.abs(v);return (a!==0&&(a<1e-3||a>=1e6))?v.toExponential(3):String(+v.toPrecision(5));}return String(v);}
function trialText(n){var r=byNumber[n];if(!r)return 'trial '+n;var c=trials.columns,s='trial '+n;
 for(var i=1;i<c.length;i++){if(r[i]===null||r[i]===''||r[i]===undefined)continue;s+='\n'+c[i]+': '+fmt(r[i]);}return s;}
// Tooltips: one listener for the whole page (10,000 marks need no 10,000 listeners).
var tip=document.getElementById('tip');
document.addEventListener('mouseover',function(e){var el=e.target.closest?e.target.closest('[data-t],[data-tip]'):null;
 if(!el){tip.style.display='none';return;}tip.textContent=el.hasAttribute('data-tip')?el.getAttribute('data-tip'):trialText(+el.getAttribute('data-t'));
 tip.style.display='block';});
document.addEventListener('mousemove',function(e){if(tip.style.display==='block'){
 var x=e.clientX+14,y=e.clientY+14;if(x+tip.offsetWidth>innerWidth)x=e.clientX-tip.offsetWidth-10;
 if(y+tip.offsetHeight>innerHeight)y=e.clientY-tip.offsetHeight-10;tip.style.left=x+'px';tip.style.top=y+'px';}});
// Zoom: wheel zooms around the pointer, drag pans, double-click resets (the viewBox changes).
Array.prototype.forEach.call(document.querySelectorAll('svg.zoomable'),function(svg){
 var full=svg.getAttribute('viewBox').split(' ').map(Number),vb=full.slice(),drag=null;
 function set(){svg.setAttribute('viewBox',vb.join(' '));}
 function at(e){var r=svg.getBoundingClientRect();return [vb[0]+(e.clientX-r.left)/r.width*vb[2],vb[1]+(e.clientY-r.top)/r.height*vb[3]];}
 svg.addEventListener('wheel',function(e){e.preventDefault();var p=at(e),k=e.deltaY<0?0.8:1.25;
  var w=Math.min(full[2],vb[2]*k),h=Math.min(full[3],vb[3]*k);vb=[p[0]-(p[0]-vb[0])*w/vb[2],p[1]-(p[1]-vb[1])*h/vb[3],w,h];set();},{passive:false});
 svg.addEventListener('pointerdown',function(e){drag=[e.clientX,e.clientY,vb[0],vb[1]];svg.setPointerCapture(e.pointerId);});
 svg.addEventListener('pointermove',function(e){if(!drag)return;var r=svg.getBoundingClientRect();
  vb[0]=drag[2]-(e.clientX-drag[0])/r.width*vb[2];vb[1]=drag[3]-(e.clientY-drag[1])/r.height*vb[3];set();});
 svg.addEventListener('pointerup',function(){drag=null;});
 svg.addEventListener('dblclick',function(){vb=full.slice();set();});
});
// The trials table: rendered from the embedded data, 100 rows a page, sorted by any column.
var table=document.getElementById('trials-table');
if(table&&trials){
 var order=trials.rows.slice(),sortCol=0,asc=true,pageNo=0,per=100;
 var head=document.createElement('tr');
 trials.columns.forEach(function(c,i){var th=document.createElement('th');th.textContent=c;th.addEventListener('click',function(){
  if(sortCol===i)asc=!asc;else{sortCol=i;asc=true;}sortRows();pageNo=0;draw();});head.appendChild(th);});
 table.querySelector('thead').appendChild(head);
 function cmp(a,b){var x=a[sortCol],y=b[sortCol];var ex=(x===null||x===''),ey=(y===null||y==='');
  if(ex||ey)return ex===ey?0:(ex?1:-1);if(typeof x==='number'&&typeof y==='number')return asc?x-y:y-x;
  x=String(x);y=String(y);return asc?(x<y?-1:x>y?1:0):(x<y?1:x>y?-1:0);}
 function sortRows(){order.sort(function(a,b){var c=cmp(a,b);return c!==0?c:a[0]-b[0];});}
 var pager=document.getElementById('trials-pager'),body=table.querySelector('tbody');
 function draw(){var pages=Math.max(1,Math.ceil(order.length/per));pageNo=Math.min(pageNo,pages-1);
  var html=[],stateCol=trials.columns.indexOf('state');
  order.slice(pageNo*per,pageNo*per+per).forEach(function(r){html.push('<tr class="m" data-t="'+r[0]+'">');
   r.forEach(function(v,i){var cls=i===stateCol?' class="s-'+v+'"':'';html.push('<td'+cls+'>'+String(fmt(v)).replace(/&/g,'&amp;').replace(/</g,'&lt;')+'</td>');});html.push('</tr>');});
  body.innerHTML=html.join('');
  Array.prototype.forEach.call(head.children,function(th,i){th.className=i===sortCol?(asc?'sorted-asc':'sorted-desc'):'';});
  pager.innerHTML='';function button(text,to,off){var b=document.createElement('button');b.textContent=text;b.disabled=off;
   b.addEventListener('click',function(){pageNo=to;draw();});pager.appendChild(b);}
  button('\u2039 previous',pageNo-1,pageNo===0);button('next \u203A',pageNo+1,pageNo>=pages-1);
  pager.appendChild(document.createTextNode(' page '+(pageNo+1)+' of '+pages+' ('+order.length+' trials; click a column to sort)'));}
 sortRows();draw();
}
// Self-check: every drawn plot must hold at least one mark; errors are counted since <head>;
// a chart wider than its card (drawn past its right edge, or needing a sideways scroll) is named
// (the trials table scrolls by design).
function selfcheck(){var empty=[],wide=[],plots=document.querySelectorAll('.plot');
 Array.prototype.forEach.call(plots,function(p){if(!p.querySelector('.m'))empty.push(p.getAttribute('data-plot'));
  var card=p.closest('section');if(p.tagName.toLowerCase()==='svg'&&card&&p.getBoundingClientRect().right>card.getBoundingClientRect().right+0.5)wide.push(p.getAttribute('data-plot'));});
 var s=document.createElement('div');s.id='selfcheck';s.setAttribute('data-errors',window.__reportErrors.length);
 s.setAttribute('data-wide-plots',wide.join(','));
 s.setAttribute('data-plots',plots.length);s.setAttribute('data-empty-plots',empty.length);s.setAttribute('data-empty',empty.join(','));
 s.setAttribute('data-error-messages',window.__reportErrors.join(' | '));s.style.display='none';document.body.appendChild(s);}
selfcheck();
// With #interact in the URL (report_browser_test), the page exercises its own interactions:
// sorting the table, zooming and resetting a plot, a tooltip; the outcome goes into the marker.
if(location.hash==='#interact'){var problems=[],check=document.getElementById('selfcheck');
 try{var ths=document.querySelectorAll('#trials-table th');
  if(ths.length>2){ths[2].click();ths[2].click();if(ths[2].className!=='sorted-desc')problems.push('table sort');}
  var z=document.querySelector('svg.zoomable');
  if(z){var before=z.getAttribute('viewBox'),r=z.getBoundingClientRect();
   z.dispatchEvent(new WheelEvent('wheel',{deltaY:-100,clientX:r.left+r.width/2,clientY:r.top+r.height/2,bubbles:true,cancelable:true}));
   if(z.getAttribute('viewBox')===before)problems.push('zoom');
   z.dispatchEvent(new MouseEvent('dblclick',{bubbles:true}));if(z.getAttribute('viewBox')!==before)problems.push('zoom reset');}
  var mark=document.querySelector('[data-t],[data-tip]');
  if(mark){mark.dispatchEvent(new MouseEvent('mouseover',{bubbles:true}));if(tip.style.display!=='block'||!tip.textContent)problems.push('tooltip');}
 }catch(e){problems.push(String(e));}
 check.setAttribute('data-interact',problems.length?problems.join(', '):'ok');}
// Milliseconds from navigation to the end of this script, and to the load event (bench, tests).
document.getElementById('selfcheck').setAttribute('data-script-ms',Math.round(performance.now()));
window.addEventListener('load',function(){document.getElementById('selfcheck').setAttribute('data-load-ms',Math.round(performance.now()));});
})();
)JS";

}  // namespace

std::string page(const std::string& title, const std::string& body, const std::string& data_json) {
  std::string s;
  s.reserve(body.size() + data_json.size() + 16384);
  s += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
       "content=\"width=device-width,initial-scale=1\"><title>";
  s += escape(title);
  s += "</title><script>";
  s += kErrorCounter;
  s += "</script><style>";
  s += kStyle;
  s += "</style></head><body>\n";
  s += body;
  s += "<div id=\"tip\"></div>\n<script type=\"application/json\" id=\"report-data\">";
  s += script_safe_json(data_json);
  s += "</script>\n<script>";
  s += kScript;
  s += "</script></body></html>\n";
  return s;
}

}  // namespace nntune::report::html
