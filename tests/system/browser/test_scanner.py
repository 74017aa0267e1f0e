"""The door scanner in Chromium: a fan books and opens their ticket, door staff scan it with
the keyboard-wedge path (ADMIT, then ALREADY USED naming the gate), the other outcomes, two
gates offline letting the same ticket in (admitted once per device, one entry and a conflict
after the network returns), keyboard-only use at 375 px, and the camera path through
Chromium's fake video capture playing a QR code of a real ticket.

Screenshots of each state go to docs/screenshots/ with TICKETBOOK_UPDATE_SCREENSHOTS=1
(`make screenshots`), else to a temporary folder."""

from __future__ import annotations

import os
import re
import statistics
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno
from playwright.sync_api import expect

from tests.support.accounts import PASSWORD, register
from tests.support.api import book, new_guest
from tests.system.browser.conftest import CHROMIUM, CHROMIUM_ARGS, MOBILE, Shop, session_user
from tests.system.browser.test_accessibility import check_focus_is_visible, check_page
from tests.system.browser.test_screenshots import README_SCREENSHOTS, shoot
from ticketbook.auth.secrets import GENERATED_KEY_NAME
from ticketbook.tickets.keys import TicketKeys


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("TICKETBOOK_UPDATE_SCREENSHOTS") == "1":
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("scanner-screenshots")


@pytest.fixture(scope="module")
def door(shop: Shop, data_dir: Path) -> dict[str, Any]:
    """A GA concert, another concert, and a door-staff account granted for the first."""
    concert = shop.concert({"GA": 40})
    other = shop.concert({"GA": 5})
    email = f"door-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=shop.base_url, timeout=30) as api:
        user_id, _ = register(api, email)
    shop.fetch(
        "INSERT INTO checkin_staff (concert_id, user_id) VALUES ($1::uuid, $2::uuid)",
        concert["id"],
        user_id,
    )
    # The server's generated signing key, to make codes of tickets the tests book over the API.
    keys = TicketKeys((data_dir / GENERATED_KEY_NAME).read_text().strip())
    return {"concert": concert, "other": other, "email": email, "keys": keys}


def codes_of(shop: Shop, door: dict[str, Any], booking_id: str) -> list[str]:
    """The codes of a booking's live tickets, as the server signs them."""
    rows = shop.fetch(
        "SELECT t.id, t.concert_id, t.tier_id, t.seat, c.ticket_key_version AS v"
        "  FROM tickets t JOIN concerts c ON c.id = t.concert_id"
        " WHERE t.booking_id = $1::uuid ORDER BY t.admission",
        booking_id,
    )
    keys: TicketKeys = door["keys"]
    return [
        keys.code(
            concert_id=r["concert_id"],
            key_version=r["v"],
            ticket_id=r["id"],
            tier_id=r["tier_id"],
            seat=r["seat"],
        )
        for r in rows
    ]


def booked_code(shop: Shop, door: dict[str, Any], concert: dict[str, Any] | None = None) -> str:
    """A fresh GA ticket's code (booked over the API by a new guest)."""
    concert = concert or door["concert"]
    with httpx.Client(base_url=shop.base_url, timeout=30) as api:
        answer = book(api, new_guest(api), concert["tiers"]["GA"])
    assert answer.status_code == 200, answer.text
    [code] = codes_of(shop, door, answer.json()["booking"]["id"])
    return code


def open_scanner(context: Any, door: dict[str, Any], gate: str, email: str | None = None) -> Any:
    """Sign in as door staff, open the concert's scanner, name the gate; wait for the bundle."""
    concert_id = door["concert"]["id"]
    page = context.new_page()
    page.goto(f"/login?next=/checkin/{concert_id}")
    page.get_by_label("Email").fill(email or door["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{context_base(page)}/checkin/{concert_id}")
    expect(page.locator("#scanner")).to_have_attribute("data-bundle", "ready")
    page.get_by_label("Gate").fill(gate)
    page.get_by_label("Gate").press("Enter")  # remembered, and back to the code field
    return page


def context_base(page: Any) -> str:
    return page.url.split("/checkin")[0].split("/login")[0]


def scan(page: Any, code: str) -> Any:
    """Type the code into the wedge input as a barcode scanner does (code + Enter)."""
    before = int(page.locator("#scanner").get_attribute("data-scans") or 0)
    field = page.get_by_label("Ticket code")
    expect(field).to_be_focused()
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.locator("#scanner")).to_have_attribute("data-scans", str(before + 1))
    return page.locator(".js-result")


def test_book_open_the_ticket_and_scan_it_twice(
    new_context: Any, shop: Shop, door: dict[str, Any], screens: Path
) -> None:
    concert = door["concert"]
    fan = new_context().new_page()
    fan.goto(f"/concerts/{concert['id']}")
    card = fan.locator(f"#tier-{concert['tiers']['GA']}")
    card.get_by_role("button", name="Book").click()
    expect(card.locator(".result")).to_contain_text("Booking confirmed")
    [booking] = shop.bookings_of(session_user(fan.context))
    fan.goto(f"/bookings/{booking['id']}/tickets")
    code = fan.locator(".ticket-code").first.inner_text().strip()
    assert code == codes_of(shop, door, str(booking["id"]))[0]
    expect(fan.get_by_role("img", name=re.compile("QR code", re.I)).first).to_be_visible()
    shoot(fan, screens, "ticket-page", full_page=True)

    staff = open_scanner(new_context(), door, "Gate A")
    result = scan(staff, code)
    expect(result).to_have_attribute("data-outcome", "ADMIT")
    expect(result).to_have_attribute("role", "status")
    expect(result).to_have_attribute("aria-live", "assertive")
    expect(result).to_contain_text("ADMIT")
    expect(result).to_contain_text("GA")
    expect(result).to_have_attribute("data-offline", "0")
    expect(staff.locator('.gate-counts__item[data-gate="Gate A"] .js-gate-count')).to_have_text("1")
    shoot(staff, screens, "scanner-admit")

    result = scan(staff, code)
    expect(result).to_have_attribute("data-outcome", "ALREADY_USED")
    expect(result).to_contain_text("ALREADY USED")
    expect(result).to_contain_text("Gate A")
    shoot(staff, screens, "scanner-already-used")

    # Online, each scan answers within 100 ms (the budget), measured in the page
    # from the keypress's handler to the answer shown.
    elapsed = []
    for _ in range(8):
        scan(staff, code)
        elapsed.append(int(result.get_attribute("data-elapsed-ms") or 0))
    print(f"\nonline scan, browser round trip (ms): {sorted(elapsed)}")
    assert statistics.median(elapsed) <= 100, elapsed
    entries = shop.fetchval(
        "SELECT count(*) FROM checkins WHERE concert_id = $1::uuid", concert["id"]
    )
    assert entries == 1


def test_revoked_invalid_and_wrong_event(
    new_context: Any, shop: Shop, door: dict[str, Any], screens: Path
) -> None:
    with httpx.Client(base_url=shop.base_url, timeout=30) as api:
        guest = new_guest(api)
        booked = book(api, guest, door["concert"]["tiers"]["GA"])
        booking_id = booked.json()["booking"]["id"]
        [revoked] = codes_of(shop, door, booking_id)
        cancelled = api.post(f"/api/bookings/{booking_id}/cancel", headers=guest)
        assert cancelled.status_code == 200, cancelled.text
    elsewhere = booked_code(shop, door, door["other"])
    valid = booked_code(shop, door)
    # One character changed: still base32, the signature no longer verifies.
    altered = valid[:40] + ("A" if valid[40] != "A" else "B") + valid[41:]

    staff = open_scanner(new_context(viewport=MOBILE), door, "Gate C")
    for code, outcome, label, shot in (
        (revoked, "REVOKED", "REVOKED", "scanner-revoked"),
        (altered, "INVALID", "INVALID", "scanner-invalid"),
        (elsewhere, "WRONG_EVENT", "WRONG EVENT", "scanner-wrong-event"),
        ("  hello world  ", "INVALID", "INVALID", None),
    ):
        result = scan(staff, code)
        expect(result).to_have_attribute("data-outcome", outcome)
        expect(result).to_contain_text(label)
        if shot:
            shoot(staff, screens, shot)
    check_page(staff, "scanner at 375 px, WRONG EVENT")


def test_two_gates_offline_admit_once_each_then_sync_reports_the_conflict(
    new_context: Any, shop: Shop, door: dict[str, Any], screens: Path
) -> None:
    code = booked_code(shop, door)
    gate_a = open_scanner(new_context(), door, "Gate A")
    gate_b = open_scanner(new_context(), door, "Gate B")
    for page in (gate_a, gate_b):
        page.context.set_offline(True)
        expect(page.locator(".js-net")).to_have_attribute("data-state", "offline")

    result_a = scan(gate_a, code)
    expect(result_a).to_have_attribute("data-outcome", "ADMIT")
    expect(result_a).to_have_attribute("data-offline", "1")
    result_a = scan(gate_a, code)  # the same device again: it knows it let this one in
    expect(result_a).to_have_attribute("data-outcome", "ALREADY_USED")
    expect(result_a).to_contain_text("Gate A (this device)")
    expect(gate_a.locator(".js-pending")).to_have_attribute("data-count", "2")
    result_b = scan(gate_b, code)
    expect(result_b).to_have_attribute("data-outcome", "ADMIT")
    expect(result_b).to_have_attribute("data-offline", "1")
    shoot(gate_b, screens, "scanner-offline", full_page=True)

    # Back online, one after the other: A's entry is recorded first, B's is the conflict.
    gate_a.context.set_offline(False)
    expect(gate_a.locator(".js-pending")).to_have_attribute("data-count", "0", timeout=15_000)
    gate_b.context.set_offline(False)
    expect(gate_b.locator(".js-pending")).to_have_attribute("data-count", "0", timeout=15_000)
    conflict = gate_b.locator(".js-conflicts .conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("Gate A")
    expect(conflict).to_contain_text("Gate B")
    expect(gate_b.locator(".js-net")).to_have_attribute("data-state", "online")
    shoot(gate_b, screens, "scanner-conflict", full_page=True)

    ticket_id = shop.fetchval(
        "SELECT ticket_id FROM checkin_scans WHERE concert_id = $1::uuid AND gate = 'Gate B'"
        " ORDER BY recorded_at DESC LIMIT 1",
        door["concert"]["id"],
    )
    outcomes = shop.fetch(
        "SELECT gate, outcome, offline_outcome FROM checkin_scans WHERE ticket_id = $1"
        " ORDER BY scanned_at",
        ticket_id,
    )
    assert [(r["gate"], r["outcome"], r["offline_outcome"]) for r in outcomes] == [
        ("Gate A", "ADMIT", "ADMIT"),
        ("Gate A", "ALREADY_USED", "ALREADY_USED"),
        ("Gate B", "ALREADY_USED", "ADMIT"),
    ]
    assert shop.fetchval("SELECT count(*) FROM checkins WHERE ticket_id = $1", ticket_id) == 1


# The page's IndexedDB store, read in the page: its keys, and one value.
IDB_KEYS = """() => new Promise((resolve) => {
  const open = indexedDB.open("ticketbook-scanner", 1);
  open.onsuccess = () => {
    const req = open.result.transaction("kv").objectStore("kv").getAllKeys();
    req.onsuccess = () => resolve(req.result);
  };
})"""
IDB_GET = """(key) => new Promise((resolve) => {
  const open = indexedDB.open("ticketbook-scanner", 1);
  open.onsuccess = () => {
    const req = open.result.transaction("kv").objectStore("kv").get(key);
    req.onsuccess = () => resolve(req.result === undefined ? null : req.result);
  };
})"""


def test_unreadable_answers_a_refused_scan_and_lost_rights(
    new_context: Any, shop: Shop, door: dict[str, Any]
) -> None:
    """A 304 for an unchanged list; a captive portal's HTML 200 is offline, not a list; a
    sync the server refuses is split until the one scan it refuses is alone (set aside as
    failed, the others recorded); rights taken back empty the device's store."""
    concert_id = door["concert"]["id"]
    email = f"door-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=shop.base_url, timeout=30) as api:
        user_id, _ = register(api, email)
    shop.fetch(
        "INSERT INTO checkin_staff (concert_id, user_id) VALUES ($1::uuid, $2::uuid)",
        concert_id,
        user_id,
    )
    staff = open_scanner(new_context(), door, "Gate R", email)

    def reconnect() -> None:
        staff.context.set_offline(True)
        expect(staff.locator(".js-net")).to_have_attribute("data-state", "offline")
        staff.context.set_offline(False)

    # Back online: the page asks with its list's ETag, and nothing changed.
    with staff.expect_response(lambda r: r.url.endswith("/bundle")) as answered:
        reconnect()
    assert answered.value.status == 304
    assert answered.value.request.headers.get("if-none-match", "").startswith('"')

    # A captive portal answers every address with its sign-in page, 200 and HTML.
    key = f"bundle:{concert_id}"
    before = staff.evaluate(IDB_GET, key)

    def portal(route: Any) -> None:
        route.fulfill(status=200, content_type="text/html", body="<h1>Wi-Fi</h1>")

    staff.route("**/bundle", portal)
    reconnect()
    expect(staff.locator(".js-net")).to_have_attribute("data-state", "offline")
    stored = staff.evaluate(IDB_GET, key)
    assert stored["etag"] == before["etag"] and len(stored["tickets"]) == len(before["tickets"])
    staff.unroute("**/bundle", portal)

    # Offline: two good codes and one the (stubbed) server refuses, queued between them.
    first, second = booked_code(shop, door), booked_code(shop, door)
    refused = "TB" + "A" * 150
    staff.context.set_offline(True)
    expect(staff.locator(".js-net")).to_have_attribute("data-state", "offline")
    for code in (first, refused, second):
        scan(staff, code)
    expect(staff.locator(".js-pending")).to_have_attribute("data-count", "3")
    bodies: list[int] = []

    def refuse(route: Any) -> None:
        scans = route.request.post_data_json["scans"]
        bodies.append(len(scans))
        if any(s["code"] == refused for s in scans):
            route.fulfill(status=400, content_type="application/json", body='{"message": "no"}')
        else:
            route.continue_()

    staff.route("**/sync", refuse)
    staff.context.set_offline(False)
    expect(staff.locator(".js-pending")).to_have_attribute("data-count", "0", timeout=15_000)
    assert bodies == [3, 2, 1, 1, 1], bodies
    failed = staff.locator(".js-failed .failed-scan")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("no")
    assert (
        shop.fetchval(
            "SELECT count(*) FROM checkin_scans WHERE gate = 'Gate R' AND outcome = 'ADMIT'"
            " AND concert_id = $1::uuid",
            concert_id,
        )
        == 2
    )
    # Too long to be a code: INVALID here, neither sent nor queued.
    result = scan(staff, "TB" + "B" * 300)
    expect(result).to_have_attribute("data-outcome", "INVALID")
    assert len(staff.get_by_label("Ticket code").input_value()) == 0

    # The organizer takes the rights back: the next scan is refused, the store emptied.
    shop.fetch("DELETE FROM checkin_staff WHERE user_id = $1::uuid", user_id)
    result = scan(staff, first)
    expect(result).to_have_attribute("data-outcome", "ERROR")
    expect(staff.locator("#scanner")).to_have_attribute("data-rights", "gone")
    expect(staff.locator(".js-bundle-state")).to_contain_text("rights")
    assert staff.evaluate(IDB_KEYS) == []


def test_keyboard_only_at_375px(new_context: Any, shop: Shop, door: dict[str, Any]) -> None:
    code = booked_code(shop, door)
    staff = open_scanner(new_context(viewport=MOBILE), door, "Gate K")
    staff.reload()
    expect(staff.locator("#scanner")).to_have_attribute("data-ready", "1")
    # The gate is remembered on this device; the focus starts in the code field.
    expect(staff.get_by_label("Gate")).to_have_value("Gate K")
    check_page(staff, "scanner at 375 px")
    check_focus_is_visible(staff, "scanner")
    # From anywhere on the page, typed characters go to the code field (a wedge types blind).
    staff.evaluate("document.activeElement.blur()")
    staff.keyboard.type(code)
    staff.keyboard.press("Enter")
    result = staff.locator(".js-result")
    expect(result).to_have_attribute("data-outcome", "ADMIT")
    expect(staff.get_by_label("Ticket code")).to_be_focused()
    expect(staff.get_by_label("Ticket code")).to_have_value("")
    check_page(staff, "scanner at 375 px, ADMIT")


# -- the camera: Chromium's fake capture playing a QR code of a real ticket ---------------------


def qr_y4m(code: str, path: Path, width: int = 640, height: int = 480, frames: int = 3) -> Path:
    """A Y4M video (YUV 4:2:0) whose frames show ``code`` as a QR code, black on white."""
    qr = segno.make(code, error="m")
    matrix = [list(row) for row in qr.matrix]
    modules = len(matrix) + 8  # a 4-module quiet zone each side
    scale = min(width, height) * 9 // 10 // modules
    left = (width - modules * scale) // 2
    top = (height - modules * scale) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if not dark:
                continue
            for dy in range(scale):
                start = (top + (y + 4) * scale + dy) * width + left + (x + 4) * scale
                luma[start : start + scale] = b"\x00" * scale
    chroma = b"\x80" * (width // 2 * height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


@pytest.fixture
def camera_browser(browser: Any, shop: Shop, door: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """A second Chromium whose camera plays a QR code of a fresh ticket (yields (browser, code))."""
    code = booked_code(shop, door)
    video = qr_y4m(code, tmp_path / "ticket.y4m")
    camera = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        yield camera, code
    finally:
        camera.close()


def test_the_camera_reads_a_ticket(camera_browser: Any, shop: Shop, door: dict[str, Any]) -> None:
    camera, code = camera_browser
    context = camera.new_context(base_url=shop.base_url, permissions=["camera"])
    context.set_default_timeout(10_000)
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        staff = open_scanner(context, door, "Gate Cam")
        staff.get_by_role("button", name="Use camera").click()
        expect(staff.get_by_role("button", name="Stop camera")).to_have_attribute(
            "aria-pressed", "true"
        )
        result = staff.locator(".js-result")
        expect(result).to_have_attribute("data-outcome", "ADMIT")
        expect(result).to_contain_text("ADMIT")
        staff.get_by_role("button", name="Stop camera").click()
        # Seen frame after frame, the code was scanned once (a repeat waits a few seconds).
        ticket_scans = shop.fetchval(
            "SELECT count(*) FROM checkin_scans WHERE gate = 'Gate Cam' AND concert_id = $1::uuid",
            door["concert"]["id"],
        )
        assert ticket_scans == 1
    finally:
        context.close()
    assert not errors, errors
    assert code.startswith("TB")
