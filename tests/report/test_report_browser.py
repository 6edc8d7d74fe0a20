"""The report as a reader sees it: headless Chromium loads the page from disk.

Needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver
fonts-noto-cjk); skipped, with that reason, where they are not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

IMAGES_JS = """
return Array.from(document.images).map(img => [img.complete, img.naturalWidth, img.naturalHeight]);
"""
OVERFLOW_JS = """
return [document.body.scrollWidth, document.documentElement.scrollWidth, window.innerWidth];
"""


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.is_file() or shutil.which(path.name)):
            return (
                f"{path} is not installed "
                "(apt-get install -y chromium chromium-driver fonts-noto-cjk)"
            )
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


def _load(driver, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and all(done for done, _, _ in d.execute_script(IMAGES_JS))
        )
    )


def _full_page_screenshot(driver, path: Path) -> None:
    height = min(driver.execute_script("return document.documentElement.scrollHeight"), 12000)
    width = driver.execute_script("return window.innerWidth")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.save_screenshot(str(path))


EXPECTED_TEXT = {
    "en": ["The deeper plain net trains worse", "9.83 ± 0.08", "+5.66 ± 0.09", "8.75"],
    "zh": ["更深的普通网络训练得更差", "9.83 ± 0.08", "+5.66 ± 0.09", "8.75", "未运行"],
}
HEADINGS_JS = "return Array.from(document.querySelectorAll('h2')).map(h => h.innerText)"
ORDER = {
    "en": ["Verdicts", "Results", "Background", "Appendix: setup and recipes"],
    "zh": ["结论判定", "结果", "背景", "附录：实验设置与训练方案"],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_renders_in_chromium(driver, built_demo, synthetic, tmp_path, lang):
    paths = built_demo[lang]
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.set_window_size(1280, 1000)
    _load(driver, paths.html)

    images = driver.execute_script(IMAGES_JS)
    assert len(images) == len(paths.figures) == 10
    assert all(done and width > 0 and height > 0 for done, width, height in images), images

    # results first: the verdicts table and the main table before the background and the setup
    assert driver.execute_script(HEADINGS_JS) == ORDER[lang]
    text = driver.execute_script("return document.body.innerText")
    for needle in EXPECTED_TEXT[lang]:
        assert needle in text, needle
    details = driver.find_element("css selector", "details")
    assert not details.get_attribute("open")  # the appendix starts collapsed
    assert synthetic.command not in text  # ... so its command is not shown
    details.find_element("css selector", "summary").click()
    assert synthetic.command in driver.execute_script("return document.body.innerText")
    assert driver.execute_script("return document.documentElement.lang") == (
        "en" if lang == "en" else "zh-CN"
    )
    _full_page_screenshot(driver, tmp_path / f"report-{lang}-desktop.png")
    assert (tmp_path / f"report-{lang}-desktop.png").stat().st_size > 50_000


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_fits_a_phone(driver, built_demo, tmp_path, lang):
    # A 390 px phone viewport, with the page's meta viewport honoured (mobile emulation).
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _load(driver, built_demo[lang].html)
        body_width, doc_width, inner = driver.execute_script(OVERFLOW_JS)
        assert inner <= 400
        assert body_width <= inner + 1 and doc_width <= inner + 1, (body_width, doc_width, inner)
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.getBoundingClientRect().width)"
        )
        assert widths and max(widths) <= inner
        # A table wider than the phone scrolls sideways inside its own box, never the page
        boxes = driver.execute_script(
            "return Array.from(document.querySelectorAll('main > .table-wrap'))"
            ".map(w => [w.getBoundingClientRect().width, getComputedStyle(w).overflowX])"
        )
        assert boxes and all(width <= inner + 1 and overflow == "auto" for width, overflow in boxes)
        driver.save_screenshot(str(tmp_path / f"report-{lang}-phone.png"))
        _full_page_screenshot(driver, tmp_path / f"report-{lang}-phone-full.png")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_fits_a_400px_window(driver, built_demo, tmp_path, lang):
    # A plain narrow desktop window (no mobile emulation).
    driver.set_window_size(400, 900)
    try:
        _load(driver, built_demo[lang].html)
        body_width, doc_width, inner = driver.execute_script(OVERFLOW_JS)
        assert inner <= 420
        assert body_width <= inner + 1 and doc_width <= inner + 1, (body_width, doc_width, inner)
        driver.save_screenshot(str(tmp_path / f"report-{lang}-400px.png"))
    finally:
        driver.set_window_size(1280, 1000)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_figures_speak_the_page_language(built_demo, lang):
    # the words drawn in each figure come from the page's language (Chinese needs a CJK font)
    from reslab.report import figures
    from reslab.report.wording import FIGURE_WORDS

    if lang == "zh" and figures._cjk_font() is None:
        pytest.skip("no CJK font (apt-get install -y fonts-noto-cjk)")
    assert figures._words(lang) is FIGURE_WORDS[lang]
    root = built_demo["root"]
    folder = root / "figures" if lang == "en" else root / "figures" / lang
    paths = built_demo[lang].figures
    assert paths and all(p.parent == folder and p.is_file() for p in paths)


BROKEN_HEADERS_JS = """
// headers whose words are split across lines: each word of a header must sit on one line
const broken = [];
for (const th of document.querySelectorAll('main > .table-wrap th')) {
  const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const re = /\\S+/g;
    let m;
    while ((m = re.exec(text.data)) !== null) {
      const range = document.createRange();
      range.setStart(text, m.index);
      range.setEnd(text, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
}
return broken;
"""


@pytest.mark.parametrize(("lang", "width"), [("en", 412), ("zh", 412), ("en", 1000)])
def test_headers_keep_words_whole_and_panels_stack_at_412px(
    driver, built_demo, tmp_path, lang, width
):
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    try:
        _load(driver, built_demo[lang].html)
        # no header word broken mid-way (a table too wide scrolls sideways in its own box) ...
        if lang == "en":
            assert driver.execute_script(BROKEN_HEADERS_JS) == []
        # ... and the page itself never scrolls sideways
        body_width, doc_width, inner = driver.execute_script(OVERFLOW_JS)
        assert body_width <= inner + 1 and doc_width <= inner + 1, (body_width, doc_width, inner)
        tops = driver.execute_script(
            "return Array.from(document.querySelectorAll('.panels')).map(p => "
            "Array.from(p.querySelectorAll('img')).map(i => i.getBoundingClientRect().top))"
        )
        assert tops and all(len(t) >= 2 for t in tops)
        stacked = [t[1] > t[0] + 50 for t in tops]
        assert all(stacked) if width < 600 else not any(stacked)
        driver.save_screenshot(str(tmp_path / f"report-{lang}-{width}.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
