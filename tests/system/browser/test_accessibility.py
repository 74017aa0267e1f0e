"""Every page, at 375 px and on a desktop: a title, one h1, headings in order, a name for
every control, a visible focus on every Tab stop, AA colour contrast, no sideways scrolling."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.api import book, new_guest
from tests.system.browser.conftest import DESKTOP, MOBILE, Shop

# WCAG 2.x contrast of every piece of visible text against what is behind it (solid colours,
# translucent layers, and each stop of a gradient behind text, composed).
CONTRAST_FAILURES = r"""() => {
  const parse = c => {
    const m = c && c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, base) => ({
    r: top.r * top.a + base.r * (1 - top.a), g: top.g * top.a + base.g * (1 - top.a),
    b: top.b * top.a + base.b * (1 - top.a), a: 1});
  const lum = c => {
    const f = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const backgrounds = el => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const s = getComputedStyle(node);
      if (s.backgroundImage && s.backgroundImage !== 'none') {
        const stops = [...s.backgroundImage.matchAll(/rgba?\([^)]+\)/g)].map(m => parse(m[0]));
        const solid = stops.filter(c => c.a >= 1);
        const bases = solid.slice();
        stops.filter(c => c.a < 1).forEach(t => solid.forEach(o => bases.push(over(t, o))));
        return bases.map(b => layers.reduceRight((acc, layer) => over(layer, acc), b));
      }
      const bg = parse(s.backgroundColor);
      if (bg && bg.a > 0) {
        if (bg.a >= 1) return [layers.reduceRight((acc, layer) => over(layer, acc), bg)];
        layers.push(bg);
      }
    }
    return [layers.reduceRight((acc, layer) => over(layer, acc), {r: 255, g: 255, b: 255, a: 1})];
  };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('[disabled], script, style')) continue;
    const rect = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    if (rect.width <= 1 || rect.height <= 1) continue;
    if (s.visibility === 'hidden' || s.opacity === '0') continue;
    const size = parseFloat(s.fontSize), weight = parseInt(s.fontWeight, 10);
    const large = size >= 24 || (size >= 18.66 && weight >= 700);
    const needed = large ? 3 : 4.5;
    for (const bg of backgrounds(el)) {
      const fg = parse(s.color);
      const r = ratio(fg.a < 1 ? over(fg, bg) : fg, bg);
      if (r < needed) {
        failures.push({text: el.textContent.trim().slice(0, 40), ratio: +r.toFixed(2), needed,
                       color: s.color, background: `rgb(${bg.r|0}, ${bg.g|0}, ${bg.b|0})`});
        break;
      }
    }
  }
  return failures;
}"""

UNNAMED_CONTROLS = r"""() => {
  const name = el => {
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(' ').map(id => document.getElementById(id)?.textContent).join(' ');
    if (el.labels && el.labels.length) return [...el.labels].map(l => l.textContent).join(' ');
    return el.textContent || el.getAttribute('title') || '';
  };
  const controls = 'a[href], button, select, textarea, output, input:not([type=hidden])';
  return [...document.querySelectorAll(controls)]
    .filter(el => !name(el).trim()).map(el => el.outerHTML.slice(0, 120));
}"""

STRUCTURE = r"""() => ({
  lang: document.documentElement.lang,
  title: document.title,
  h1: document.querySelectorAll('h1').length,
  levels: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => +h.tagName[1]),
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  nav: !!document.querySelector('header nav[aria-label="Main"]'),
})"""


def check_page(page: Any, label: str) -> None:
    # Colours are measured once transitions (e.g. a button turning enabled again) are over.
    page.wait_for_function(
        "() => document.getAnimations().every(a => a.playState !== 'running'"
        " || a.effect.getTiming().iterations === Infinity)"
    )
    structure = page.evaluate(STRUCTURE)
    assert structure["lang"] == "en", label
    assert structure["title"].endswith("· TicketBook"), (label, structure["title"])
    assert structure["h1"] == 1, (label, structure)
    levels = structure["levels"]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (label, levels)
    assert structure["nav"], label
    assert structure["overflow"] <= 0, f"{label}: scrolls sideways by {structure['overflow']}px"
    assert page.evaluate(UNNAMED_CONTROLS) == [], label
    failures = page.evaluate(CONTRAST_FAILURES)
    assert failures == [], f"{label}: {failures}"


def check_focus_is_visible(page: Any, label: str, limit: int = 60) -> int:
    """Tab through the page; every stop must show a focus ring. Returns the number of stops."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    seen = set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const s = getComputedStyle(el);
                const holder = el.closest('.concert-card') || el;
                const h = getComputedStyle(holder);
                return {key: el.outerHTML.slice(0, 80),
                        ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                              || (h.outlineStyle !== 'none' && parseFloat(h.outlineWidth) >= 2)};
            }"""
        )
        if stop is None or stop["key"] in seen:
            break
        seen.add(stop["key"])
        assert stop["ring"], f"{label}: no visible focus on {stop['key']}"
    assert seen, f"{label}: nothing to focus"
    return len(seen)


@pytest.fixture(scope="module")
def catalog(shop: Shop) -> dict[str, Any]:
    """Concerts in every state, and a fan with bookings in several statuses."""
    from tests.support.inventory import make_concert
    from tests.system.browser.conftest import off_loop

    plenty = off_loop(make_concert, shop.db_url, {"VIP": 20, "FRONT_ROW": 50, "GA": 300})
    fast = off_loop(make_concert, shop.db_url, {"VIP": 10, "GA": 10})
    gone = off_loop(make_concert, shop.db_url, {"GA": 2})
    with httpx.Client(base_url=shop.base_url) as api:
        guest = new_guest(api)
        assert book(api, guest, fast["tiers"]["GA"], 9).status_code == 200
        # Someone else sold VIP out (one fan may hold at most 10 tickets for a concert).
        assert book(api, new_guest(api), fast["tiers"]["VIP"], 10).status_code == 200
        assert book(api, guest, gone["tiers"]["GA"], 2).status_code == 200
    return {"plenty": plenty, "fast": fast, "gone": gone}


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_every_page_is_accessible_and_fits(
    new_context: Any, catalog: dict[str, Any], viewport: dict[str, int]
) -> None:
    page = new_context(viewport=viewport).new_page()
    for path in ("/", "/concerts", f"/concerts/{catalog['fast']['id']}", "/bookings", "/nope"):
        page.goto(path)
        check_page(page, f"{path} at {viewport['width']}px")
        check_focus_is_visible(page, path)

    # A concert page after booking (the confirmed result in place) and My bookings with
    # bookings in several statuses.
    plenty = catalog["plenty"]
    page.goto(f"/concerts/{plenty['id']}")
    card = page.locator(f"#tier-{plenty['tiers']['GA']}")
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    check_page(page, "concert page with a result")
    first = card.locator(".js-reference").inner_text()
    card.get_by_role("button", name="Book").click()
    # The first result stays until the second answer replaces it: wait for a new reference,
    # or My bookings could open while the second booking is still paying (no Cancel yet).
    expect(card.locator(".js-reference")).not_to_have_text(first)
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    page.goto("/bookings")
    page.locator(".booking-card").first.get_by_role("button", name="Cancel booking").click()
    expect(page.locator(".booking-card .badge").first).to_have_text("Cancelled")
    check_page(page, "my bookings with a cancelled booking")
    check_focus_is_visible(page, "/bookings")


def test_the_not_enough_tickets_page_without_javascript(
    new_context: Any, shop: Shop, catalog: dict[str, Any]
) -> None:
    from tests.support.inventory import make_concert
    from tests.system.browser.conftest import off_loop

    concert = off_loop(make_concert, shop.db_url, {"VIP": 3})
    tier = concert["tiers"]["VIP"]
    page = new_context(java_script_enabled=False, viewport=MOBILE).new_page()
    page.goto(f"/concerts/{concert['id']}")
    page.locator(f"#tier-{tier}").get_by_label("Tickets").select_option("3")
    with httpx.Client(base_url=shop.base_url) as api:  # someone else is quicker
        assert book(api, new_guest(api), tier, 2).status_code == 200
    page.locator(f"#tier-{tier}").get_by_role("button", name="Book").click()
    expect(page.locator(".result")).to_contain_text("only 1 VIP ticket is left now")
    check_page(page, "not enough tickets")
