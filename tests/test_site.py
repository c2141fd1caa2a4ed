"""The course website (``python docs/site/build.py``): contents, links, launch links, figures, animations.

Checks the built site in build/site (or GROKKIT_SITE_DIR). Without a built site the tests
are skipped, so a plain ``pytest`` works before any build; with GROKKIT_SITE_REQUIRED=1
(set by .ci/run after it builds the site) a missing site fails, and so does a notebook
page built without outputs. The browser test serves the site on 127.0.0.1 and opens one
page in Debian's chromium (never a downloaded browser).
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
import threading
import time
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("GROKKIT_SITE_DIR") or REPO / "build" / "site")
REQUIRED = os.environ.get("GROKKIT_SITE_REQUIRED", "").strip() == "1"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
ZH_NOTE = "关于本页的输出"      # docs/site/build.py's note on a Chinese page showing the English run's outputs
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_PAGE = "notebooks/00_start_here.html"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _missing(reason: str) -> None:
    """Fail when the site is required (CI), skip otherwise."""
    if REQUIRED:
        pytest.fail(f"{reason} (GROKKIT_SITE_REQUIRED=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site() -> Path:
    """The built site's folder."""
    if not (SITE / "index.html").is_file():
        _missing(f"no site built in {SITE} (python docs/site/build.py)")
    return SITE


class _Page(HTMLParser):
    """The links, image sources, ids and classes of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []      # (tag, url)
        self.ids: set[str] = set()
        self.anchors: list[tuple[str, str, str]] = []   # (href, class, text) of <a>
        self._a: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "img", "link", "script", "source"):
                self.links.append((tag, a[key]))
        if tag == "a":
            self._a = [a.get("href", ""), a.get("class", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._a is not None:
            self._a[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._a is not None:
            self.anchors.append((self._a[0], self._a[1], self._a[2].strip()))
            self._a = None


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Page:
    """Parse one page (cached: the link check reads each target page's ids)."""
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _pages(site: Path) -> list[Path]:
    """Every HTML page of the site (_static/ holds the theme's template fragments, not pages)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def _widget_cells(nb: Path) -> int:
    """How many code cells of a notebook show a grokkit widget."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" and re.search(r"\bwidgets\.\w+\(", "".join(c["source"])))


def _toc(page: _Page, prefix: str) -> list[tuple[str, str]]:
    """The page's internal links under ``prefix``, in order, up to the first repeat (the sidebar repeats the body)."""
    first: list[tuple[str, str]] = []
    for href, cls, text in page.anchors:
        if href.startswith(prefix) and "reference internal" in cls:
            if href in [h for h, _ in first]:
                break
            first.append((href, text))
    return first


def test_contents_page_lists_every_notebook_in_order_with_its_number(site):
    first = [(h, t) for h, t in _toc(_parse(site / "index.html"), "notebooks/") if not h.startswith("notebooks/zh/")]
    assert [h for h, _ in first] == [f"notebooks/{nb.stem}.html" for nb in NOTEBOOKS]
    assert [t.split(" ")[0] for _, t in first] == [nb.name.split("_")[0] for nb in NOTEBOOKS]


def _broken_links(site: Path) -> list[str]:
    """Every relative link or image source of the site's pages that names no file, or no id in its page."""
    broken = []
    for page in _pages(site):
        for tag, url in _parse(page).links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue            # external (http, mailto, ...): not checked, CI has no network
            rel = page.relative_to(site).as_posix()
            target_rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), unquote(parts.path))) \
                if parts.path else rel
            target = site / target_rel
            if target.is_dir():
                target = target / "index.html"
            if target_rel.startswith("..") or not target.is_file():
                broken.append(f"{rel}: <{tag}> {url} (no file)")
            elif parts.fragment and target.suffix == ".html" and tag == "a" \
                    and unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{rel}: <{tag}> {url} (no id {parts.fragment!r})")
    return broken


def test_link_check_reports_a_missing_page_image_and_anchor_and_passes_good_ones(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "img.png").write_bytes(b"png")
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#there">ok</a><a href="sub/page.html#nowhere">bad id</a>'
        '<a href="gone.html">bad page</a><img src="img.png"><img src="missing.png">'
        '<a href="https://example.org/x.html">external</a><a href="#top">self</a><h1 id="top">t</h1>')
    (tmp_path / "sub" / "page.html").write_text('<h2 id="there">x</h2><a href="../index.html">up</a>'
                                                 '<a href="../../outside.html">outside</a>')
    assert sorted(_broken_links(tmp_path)) == sorted([
        "index.html: <a> sub/page.html#nowhere (no id 'nowhere')",
        "index.html: <a> gone.html (no file)",
        "index.html: <img> missing.png (no file)",
        "sub/page.html: <a> ../../outside.html (no file)",
    ])


def test_every_relative_link_and_image_resolves_to_a_file_and_anchor(site):
    broken = _broken_links(site)
    assert not broken, "\n".join(broken[:40])


def test_every_notebook_page_has_binder_and_colab_links_to_its_notebook(site):
    for nb in NOTEBOOKS:
        page = site / "notebooks" / f"{nb.stem}.html"
        assert page.is_file(), f"{page} missing"
        anchors = _parse(page).anchors
        binder = [h for h, cls, _ in anchors if "grokkit-launch-binder" in cls]
        colab = [h for h, cls, _ in anchors if "grokkit-launch-colab" in cls]
        assert len(binder) == 1 and binder[0].startswith("https://mybinder.org/v2/gh/"), page
        assert len(colab) == 1 and colab[0].startswith("https://colab.research.google.com/github/"), page
        assert binder[0].endswith(f"notebooks/{nb.name}") and colab[0].endswith(f"notebooks/{nb.name}"), page


def test_executed_pages_show_figures_and_an_animation_for_every_widget(site):
    unexecuted = []
    for nb in NOTEBOOKS:
        page = site / "notebooks" / f"{nb.stem}.html"
        text = page.read_text(encoding="utf-8")
        if "cell_output" not in text:
            unexecuted.append(nb.name)
            continue
        assert WIDGET_MIME not in text, f"{page.name}: a live widget, which shows nothing without a kernel"
        images = [u for t, u in _parse(page).links if t == "img" and "_images/" in u]
        assert images, f"{page.name}: no figure"
        animations = text.count('<div class="animation">')
        assert animations >= _widget_cells(nb), f"{page.name}: {animations} animations for {_widget_cells(nb)} widgets"
    if unexecuted and REQUIRED:
        pytest.fail(f"pages built without outputs: {', '.join(unexecuted)}")
    if len(unexecuted) == len(NOTEBOOKS):
        _missing("no notebook page has outputs (build the site from executed notebooks)")


def test_the_chinese_contents_page_lists_every_chinese_notebook_and_links_both_ways(site):
    chinese = _parse(site / "zh" / "index.html")
    toc = _toc(chinese, "../notebooks/zh/")
    assert [h for h, _ in toc] == [f"../notebooks/zh/{nb.stem}.html" for nb in NOTEBOOKS]
    assert [t.split(" ")[0] for _, t in toc] == [nb.name.split("_")[0] for nb in NOTEBOOKS]
    assert all(re.search(r"[\u4e00-\u9fff]", t) for _, t in toc), "the chapters' Chinese titles"
    assert "../index.html" in [h for h, _, _ in chinese.anchors], "a link back to the English contents"
    assert "zh/index.html" in [h for h, _, _ in _parse(site / "index.html").anchors], "the English contents link it"


def test_the_chinese_pages_exist_and_their_links_resolve(site):
    pages = {p.relative_to(site).as_posix() for p in _pages(site)}
    assert {f"notebooks/zh/{nb.stem}.html" for nb in NOTEBOOKS} | {"zh/index.html"} <= pages
    broken = [b for b in _broken_links(site) if b.startswith(("zh/", "notebooks/zh/"))]
    assert not broken, "\n".join(broken[:40])


def test_every_chinese_page_launches_the_chinese_learner_edition(site):
    for nb in NOTEBOOKS:
        page = site / "notebooks" / "zh" / f"{nb.stem}.html"
        anchors = _parse(page).anchors
        binder = [h for h, cls, _ in anchors if "grokkit-launch-binder" in cls]
        colab = [h for h, cls, _ in anchors if "grokkit-launch-colab" in cls]
        assert len(binder) == len(colab) == 1, page
        assert binder[0].endswith(f"learner/zh/{nb.name}") and colab[0].endswith(f"learner/zh/{nb.name}"), page
        assert "运行这个笔记本" in page.read_text(encoding="utf-8")


def test_chinese_pages_show_the_english_runs_figures_and_say_whose_messages_they_show(site):
    for nb in NOTEBOOKS:
        english = (site / "notebooks" / f"{nb.stem}.html").read_text(encoding="utf-8")
        chinese = (site / "notebooks" / "zh" / f"{nb.stem}.html").read_text(encoding="utf-8")
        if "cell_output" not in english:
            continue
        figures = lambda text: sum(1 for t, u in _links_of(text) if t == "img" and "_images/" in u)
        assert "cell_output" in chinese and figures(chinese) == figures(english), nb.name
        assert chinese.count('<div class="animation">') == english.count('<div class="animation">'), nb.name
        if ZH_NOTE not in chinese:      # the suite ran this Chinese notebook itself: its checks answered in Chinese
            assert "✅" not in chinese or "通过" in chinese, nb.name


def _links_of(text: str) -> list[tuple[str, str]]:
    """The links of an HTML text (uncached, for pages compared side by side)."""
    page = _Page()
    page.feed(text)
    return page.links


@pytest.fixture
def served(site):
    """The site served over HTTP on 127.0.0.1 (a free port): yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    """A static file handler that does not log every request."""

    def log_message(self, format: str, *args) -> None:    # noqa: A002 (the base class's name)
        pass


@pytest.mark.browser
def test_a_page_in_chromium_shows_a_figure_and_a_playing_animation(served, site):
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if "cell_output" not in (site / BROWSER_PAGE).read_text(encoding="utf-8"):
        _missing(f"{BROWSER_PAGE} was built without outputs")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.set_default_timeout(60_000)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{served}/{BROWSER_PAGE}")
            # a figure: a PNG from the notebook's outputs, loaded and drawn
            figure = page.locator(".cell_output img[src*='_images/']").first
            figure.wait_for(state="visible")
            assert figure.evaluate("img => img.complete && img.naturalWidth > 100")
            # an animation: matplotlib's player; Play moves its frame slider and changes the image
            anim = page.locator(".cell_output div.animation").first
            anim.scroll_into_view_if_needed()
            img, slider = anim.locator("img").first, anim.locator("input.anim-slider").first
            page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=img.element_handle())
            before = (slider.input_value(), img.get_attribute("src"))
            anim.get_by_role("button", name="Play", exact=True).click()
            end = time.monotonic() + 20
            while time.monotonic() < end and (slider.input_value(), img.get_attribute("src")) == before:
                time.sleep(0.2)
            after = (slider.input_value(), img.get_attribute("src"))
            shots = REPO / "screenshots"
            shots.mkdir(exist_ok=True)
            page.screenshot(path=str(shots / "site_00_start_here.png"), full_page=False)
        finally:
            browser.close()
    assert after[0] != before[0] and after[1] != before[1], "the animation did not move after Play"
    assert not errors, f"JavaScript errors on the page: {errors}"


def _builder():
    """docs/site/build.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("site_build", REPO / "docs" / "site" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_staging_takes_executed_copies_and_lists_every_notebook(tmp_path):
    executed = tmp_path / "executed" / "notebooks"
    executed.mkdir(parents=True)
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    (executed / NOTEBOOKS[0].name).write_text(json.dumps(nb), encoding="utf-8")

    done, missing = _builder().stage(tmp_path / "executed", tmp_path / "src")
    assert done == [NOTEBOOKS[0].name] and missing == [p.name for p in NOTEBOOKS[1:]]
    staged = sorted(p.name for p in (tmp_path / "src" / "notebooks").glob("*.ipynb"))
    assert staged == [p.name for p in NOTEBOOKS]
    first = json.loads((tmp_path / "src" / "notebooks" / NOTEBOOKS[0].name).read_text(encoding="utf-8"))
    assert any(c.get("outputs") for c in first["cells"] if c["cell_type"] == "code")
    assert (tmp_path / "src" / "index.md").is_file() and (tmp_path / "src" / "docs" / "instructors.md").is_file()


def test_staging_refuses_a_stale_copy_and_missing_copies_when_required(tmp_path):
    builder = _builder()
    with pytest.raises(SystemExit, match="no executed copy .* of: 00_"):
        builder.stage(tmp_path / "none", tmp_path / "src", require_executed=True)
    executed = tmp_path / "executed" / "notebooks"
    executed.mkdir(parents=True)
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    nb["cells"][0]["source"] = ["# an older title\n"]
    (executed / NOTEBOOKS[0].name).write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(SystemExit, match="stale"):
        builder.stage(tmp_path / "executed", tmp_path / "src")


def _with_outputs(path: Path, label: str) -> dict:
    """A notebook whose every code cell shows one line of output naming the cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"{label} {cell['id']}\n"}]
    return nb


def test_staging_gives_each_chinese_page_the_english_runs_outputs_and_a_note(tmp_path):
    first, zh = NOTEBOOKS[0], REPO / "notebooks" / "zh" / NOTEBOOKS[0].name
    (tmp_path / "executed" / "notebooks").mkdir(parents=True)
    (tmp_path / "executed" / "notebooks" / first.name).write_text(json.dumps(_with_outputs(first, "en")), encoding="utf-8")
    _builder().stage(tmp_path / "executed", tmp_path / "src")
    page = json.loads((tmp_path / "src" / "notebooks" / "zh" / first.name).read_text(encoding="utf-8"))
    chinese = json.loads(zh.read_text(encoding="utf-8"))
    english_ids = {c["id"] for c in json.loads(first.read_text(encoding="utf-8"))["cells"]}
    notes = [c for c in page["cells"] if ZH_NOTE in "".join(c["source"])]
    ids = [c["id"] for c in page["cells"]]
    assert len(notes) == 1 and ids.index(notes[0]["id"]) == ids.index("zh-edition-note") + 1, "under the edition's note"
    assert [(c["id"], c["source"]) for c in page["cells"] if c is not notes[0]] == \
        [(c["id"], c["source"]) for c in chinese["cells"]], "the Chinese notebook's cells, in order"
    for cell in page["cells"]:
        if cell["cell_type"] == "code":
            want = [f"en {cell['id']}\n"] if cell["id"] in english_ids else []
            assert [o["text"] for o in cell["outputs"]] == want, cell["id"]
    second = NOTEBOOKS[1].name
    assert (tmp_path / "src" / "notebooks" / "zh" / second).read_bytes() == \
        (REPO / "notebooks" / "zh" / second).read_bytes(), "no English run: the Chinese notebook as it is"


def test_staging_takes_the_chinese_run_where_the_suite_made_one_and_refuses_a_stale_one(tmp_path):
    name = NOTEBOOKS[0].name
    executed = tmp_path / "executed" / "notebooks" / "zh"
    executed.mkdir(parents=True)
    run = _with_outputs(REPO / "notebooks" / "zh" / name, "zh")
    (executed / name).write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    builder = _builder()
    builder.stage(tmp_path / "executed", tmp_path / "src")
    staged = json.loads((tmp_path / "src" / "notebooks" / "zh" / name).read_text(encoding="utf-8"))
    assert staged == run and ZH_NOTE not in json.dumps(staged, ensure_ascii=False)
    run["cells"][0]["source"] = ["# 旧标题\n"]
    (executed / name).write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit, match="stale"):
        builder.stage(tmp_path / "executed", tmp_path / "src")
